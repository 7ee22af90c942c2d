"""What /proc says about a proxy: its process tree, CPU time and memory.

A proxy is the process the bench started plus every descendant (nginx and
HAProxy in master-worker mode fork their workers). CPU is counted over all of
them; memory over the serving processes only: the descendants when there are
any (nginx's and HAProxy's masters hold the config and serve nothing), else
the process itself (a single-process, multi-threaded server)."""
import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields 3.. of /proc/PID/stat (after the parenthesised comm, which may
    contain spaces), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def tree(root):
    """root and all its live descendants, root first."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        if _stat_fields(pid) is None:
            continue
        out.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return out


def serving(root):
    """The processes that serve traffic: descendants if any, else root."""
    pids = tree(root)
    return pids[1:] if len(pids) > 1 else pids


def cpu_seconds(pids):
    """utime + stime of the given processes, all threads included (the kernel
    sums a process's threads in /proc/PID/stat), in seconds."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def reset_peak(pids):
    """Resets VmHWM to the current RSS (Linux >= 4.0, our own children), so
    the next VmHWM read is the peak of what happened in between. Returns False
    when the kernel refused (then VmHWM is the peak since start)."""
    ok = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


def status_kib(pids, key):
    """Sum of a /proc/PID/status field in KiB (VmRSS: now; VmHWM: peak)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def ctx_switches(pids):
    """Voluntary + involuntary context switches of the given processes, all
    their threads, so far."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches:",
                                            "nonvoluntary_ctxt_switches:")):
                            total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def machine_cpu_seconds():
    """CPU time the whole machine spent busy so far (every CPU: user, nice,
    system, irq, softirq, steal; not idle or iowait), in seconds. On a shared
    machine this counts everybody's work, which is why such figures mean
    something only on a quiet one."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / CLK_TCK
