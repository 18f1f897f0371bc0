/* clock.c: system and manual clocks. */
#include "lib/clock.h"

#include <time.h>

static double read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double sys_mono(void *ctx)
{
    (void)ctx;
    return read_clock(CLOCK_MONOTONIC);
}

static double sys_wall(void *ctx)
{
    (void)ctx;
    return read_clock(CLOCK_REALTIME);
}

struct rg_clock clock_system(void)
{
    return (struct rg_clock){sys_mono, sys_wall, NULL};
}

static double man_mono(void *ctx)
{
    return ((struct manual_clock *)ctx)->mono;
}

static double man_wall(void *ctx)
{
    return ((struct manual_clock *)ctx)->wall;
}

struct rg_clock clock_manual(struct manual_clock *m)
{
    return (struct rg_clock){man_mono, man_wall, m};
}
