/* clock.h: an injectable clock.
 *
 * Everything that measures intervals or stamps times takes a
 * struct rg_clock, so tests of lag, cooldowns and ramps drive time by
 * hand instead of sleeping. */
#ifndef REPLGUARD_CLOCK_H
#define REPLGUARD_CLOCK_H

struct rg_clock {
    /* mono: seconds on a monotonic clock (intervals, deadlines). */
    double (*mono)(void *ctx);
    /* wall: seconds since the Unix epoch (timestamps). */
    double (*wall)(void *ctx);
    void *ctx;
};

/* clock_system: the real clocks (CLOCK_MONOTONIC, CLOCK_REALTIME). */
struct rg_clock clock_system(void);

/* A manual clock for tests: both readings come from the struct, which
 * the test advances. */
struct manual_clock {
    double mono;
    double wall;
};

/* clock_manual: a clock that reads *m; m must outlive the clock. */
struct rg_clock clock_manual(struct manual_clock *m);

static inline double clock_mono(const struct rg_clock *c)
{
    return c->mono(c->ctx);
}

static inline double clock_wall(const struct rg_clock *c)
{
    return c->wall(c->ctx);
}

#endif
