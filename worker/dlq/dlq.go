// Package dlq is the dead-letter queue engine: the Scanner that reads a
// queue without consuming it, the Filter, the Replayer that moves messages
// back to the main queue (send first, delete after, with a replay cap), and
// the JSON Lines record format of export and import. The operator commands
// over it are in dlqcli. See README.md beside this file.
package dlq
