/* schedslice.c: sched_setattr() with a custom slice for SCHED_OTHER. */
#include "lib/schedslice.h"

#include <errno.h>
#include <linux/sched.h>
#include <linux/sched/types.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int schedslice_set(double seconds)
{
#ifdef SYS_sched_setattr
    struct sched_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.sched_policy = SCHED_NORMAL;
    /* the thread's nice, as it is: asking for less would need privilege */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (nice == -1 && errno)
        return -1;
    a.sched_nice = nice;
    a.sched_runtime = (__u64)(seconds * 1e9);
    return (int)syscall(SYS_sched_setattr, 0, &a, 0);
#else
    (void)seconds;
    errno = ENOSYS;
    return -1;
#endif
}
