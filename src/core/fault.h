/*
 * fault.h: fault injection for tests. JERN_FAULT=STEP[,STEP...] makes the
 * process kill itself with SIGKILL when it reaches a named step, so a test can
 * check what survives a crash at exactly that point. The step names are listed
 * in docs/RELIABILITY.md. Unset (the normal case), a step costs one branch.
 */
#ifndef JN_CORE_FAULT_H
#define JN_CORE_FAULT_H

/* Dies with SIGKILL (after one log line) when step is listed in $JERN_FAULT.
 * Any thread. step is "AREA:POINT", e.g. "deploy:after-start". */
void jn_fault_point(const char *step);

#endif
