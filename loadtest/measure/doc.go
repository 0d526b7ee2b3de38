// Package measure holds what the benchmark harnesses read and compute:
// process CPU time and memory from /proc, and medians and percentiles.
package measure
