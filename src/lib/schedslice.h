/* schedslice.h: a shorter CPU time slice for one latency-sensitive
 * thread (the engine's), without privileges.
 *
 * Linux's EEVDF scheduler (6.6 and later) gives a runnable thread a
 * virtual deadline one time slice ahead; from 6.12 a thread may ask for
 * a slice of its own (sched_setattr()'s sched_runtime, 0.1-100 ms, no
 * capability needed, its nice unchanged). A short slice brings its
 * deadline closer, so when it wakes on a busy machine (a scrape's answer
 * is in) it runs sooner, and is preempted sooner too: it fits a thread
 * that wakes often for a little work. Older kernels refuse or ignore the
 * request, and the thread keeps the default. */
#ifndef REPLGUARD_SCHEDSLICE_H
#define REPLGUARD_SCHEDSLICE_H

/* schedslice_set: asks for a time slice of seconds for the calling
 * thread, keeping its policy (SCHED_OTHER) and nice. Returns 0, or -1
 * (errno set) when the kernel refuses: a thread of another policy, or a
 * kernel without custom slices (EINVAL) or without sched_setattr
 * (ENOSYS). */
int schedslice_set(double seconds);

#endif
