package measure

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stat is what /proc/PID/stat says about a process.
type Stat struct {
	PID, PPID int
	Comm      string
	// CPU is user + system time so far.
	CPU time.Duration
	// ChildrenCPU is the user + system time of its children that ended and
	// were waited for (cutime + cstime): a Postgres backend that exits
	// moves its CPU time here, into the postmaster's.
	ChildrenCPU time.Duration
}

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	return parseStat(pid, string(b))
}

// parseStat parses "pid (comm) state ppid ... utime stime ..."; comm may
// hold spaces and parentheses, so fields are counted after the last ')'.
func parseStat(pid int, s string) (Stat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 15 { // f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
		return Stat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: bad ppid: %w", pid, err)
	}
	var ticks [4]int64 // utime, stime, cutime, cstime
	for i := range ticks {
		if ticks[i], err = strconv.ParseInt(f[11+i], 10, 64); err != nil {
			return Stat{}, fmt.Errorf("/proc/%d/stat: bad times: %w", pid, err)
		}
	}
	perTick := time.Second / time.Duration(clockTicks())
	return Stat{PID: pid, PPID: ppid, Comm: s[open+1 : end],
		CPU: time.Duration(ticks[0]+ticks[1]) * perTick, ChildrenCPU: time.Duration(ticks[2]+ticks[3]) * perTick}, nil
}

var clockTicks = sync.OnceValue(func() int64 {
	// USER_HZ; 100 on every Linux build this runs on, but ask.
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
})

// CPUTime is the user + system time of pid and, with tree, of all its
// descendants: those alive now and those that ended (Postgres's backends
// are children of the postmaster, and a pool closing a connection ends
// one). Counting only the live ones made the total fall when a backend
// exited, and the bench once showed Postgres using -0.31 cores.
func CPUTime(pid int, tree bool) (time.Duration, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return 0, err
	}
	total := st.CPU
	if tree {
		total += st.ChildrenCPU
		for _, c := range Descendants(pid) {
			if s, err := ReadStat(c); err == nil {
				total += s.CPU + s.ChildrenCPU
			}
		}
	}
	return total, nil
}

// Children lists the processes whose parent is ppid.
func Children(ppid int) []Stat {
	entries, _ := os.ReadDir("/proc")
	var out []Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := ReadStat(pid); err == nil && st.PPID == ppid {
			out = append(out, st)
		}
	}
	return out
}

// Descendants lists every process below pid.
func Descendants(pid int) []int {
	var out []int
	for _, c := range Children(pid) {
		out = append(out, c.PID)
		out = append(out, Descendants(c.PID)...)
	}
	return out
}

// Cmdline is the command line of pid, arguments joined by spaces.
func Cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// PeakRSS is the process's peak resident set (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) { return statusKB(pid, "VmHWM:") }

// ResetPeakRSS sets the process's VmHWM back to its resident set now, so
// that PeakRSS afterwards is the peak of what follows: writing "5" to
// /proc/PID/clear_refs (Linux 4.0 and later, proc(5)).
func ResetPeakRSS(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}

// RSS is the process's resident set now (VmRSS) in bytes.
func RSS(pid int) (int64, error) { return statusKB(pid, "VmRSS:") }

func statusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status %s %w", pid, key, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, key)
}

// LoadAvg is this machine's load average over 1, 5 and 15 minutes as
// /proc/loadavg gives it ("0.52 0.58 0.59"), or "?" when it cannot be read.
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
