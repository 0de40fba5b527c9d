/*
 * A small thread pool: the caller plus count − 1 workers run one task at a time. A worker that finds
 * no task spins for up to SPIN_NS (the next GEMM of a recurrent step usually comes within that), then
 * sleeps on a condition variable. The pool serves one caller at a time; a second caller (another
 * JavaScript thread) runs its task alone rather than wait.
 *
 * Every started worker acknowledges every task (pending counts them all), so a worker must count
 * generations from the one current when it was created, not from whatever it reads once it runs: a
 * worker that the system starts late would otherwise take the first task's generation for its
 * starting point, never acknowledge that task, and leave its caller waiting forever. The generation
 * cannot move while workers are created (pool_set_threads holds `busy`, which every task takes).
 *
 * BPTT_NATIVE_TEST_WORKER_DELAY_US (tests only) delays each worker's start by that many microseconds,
 * so that a test can make the first task come before the workers run.
 *
 * Also: per-thread scratch buffers for the GEMM's packed operand.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bptt_native.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_THREADS 64
#define SPIN_NS 300000L

static struct {
  pthread_mutex_t busy; /* held by the caller running a task */
  pthread_mutex_t sleep_lock;
  pthread_cond_t wake;
  atomic_int sleepers;
  atomic_ulong generation; /* incremented for every task */
  atomic_int pending;      /* workers yet to finish the current task */
  pool_task task;
  void* arg;
  int count;
  int threads; /* in use, the caller included */
  int started; /* workers started (they never stop) */
  unsigned long first_generation[MAX_THREADS]; /* worker i counts tasks from first_generation[i] */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 1, 0, {0}};

int profile_on = 0;
double profile_counters[PROFILE_COUNTERS];

long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Waits until the generation differs from `seen`: spins, then sleeps. */
static unsigned long wait_for_task(unsigned long seen) {
  const long deadline = now_ns() + SPIN_NS;
  for (int spin = 0;; spin++) {
    const unsigned long g = atomic_load(&pool.generation);
    if (g != seen) return g;
    if ((spin & 63) == 63 && now_ns() > deadline) break;
    CPU_RELAX();
  }
  pthread_mutex_lock(&pool.sleep_lock);
  atomic_fetch_add(&pool.sleepers, 1);
  unsigned long g;
  while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.sleep_lock);
  atomic_fetch_sub(&pool.sleepers, 1);
  pthread_mutex_unlock(&pool.sleep_lock);
  return g;
}

static void* worker(void* arg) {
  const int index = (int)(long)arg;
  const char* delay = getenv("BPTT_NATIVE_TEST_WORKER_DELAY_US");
  if (delay != NULL) usleep((useconds_t)atol(delay));
  unsigned long seen = pool.first_generation[index];
  for (;;) {
    seen = wait_for_task(seen);
    if (index < pool.count) pool.task(pool.arg, index, pool.count);
    atomic_fetch_sub(&pool.pending, 1);
  }
  return NULL;
}

int pool_set_threads(int count) {
  if (count < 1) count = 1;
  if (count > MAX_THREADS) count = MAX_THREADS;
  pthread_mutex_lock(&pool.busy);
  while (pool.started < count - 1) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pool.first_generation[pool.started + 1] = atomic_load(&pool.generation);
    const int failed = pthread_create(&thread, &attr, worker, (void*)(long)(pool.started + 1));
    pthread_attr_destroy(&attr);
    if (failed) break;
    pool.started++;
  }
  pool.threads = pool.started + 1 < count ? pool.started + 1 : count;
  pthread_mutex_unlock(&pool.busy);
  return pool.threads;
}

int pool_threads(void) { return pool.threads; }

int pool_run(pool_task task, void* arg, int want) {
  if (want > pool.threads) want = pool.threads;
  if (want <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    task(arg, 0, 1);
    return 1;
  }
  pool.task = task;
  pool.arg = arg;
  pool.count = want;
  /* Every started worker acknowledges every task (those past `want` without running it), so none lags a generation behind. */
  atomic_store(&pool.pending, pool.started);
  atomic_fetch_add(&pool.generation, 1);
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.sleep_lock);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
  }
  task(arg, 0, want);
  const long wait_start = profile_on ? now_ns() : 0;
  for (int spin = 0; atomic_load(&pool.pending) > 0; spin++) {
    if (spin > 4096) sched_yield();
    else CPU_RELAX();
  }
  if (profile_on) profile_counters[PROFILE_WAIT_NS] += (double)(now_ns() - wait_start);
  pthread_mutex_unlock(&pool.busy);
  return want;
}

/* ---- per-thread scratch ------------------------------------------------------------------------- */

typedef struct {
  float* data[2];
  size_t floats[2];
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void free_scratch(void* p) {
  scratch* s = p;
  free(s->data[0]);
  free(s->data[1]);
  free(s);
}

static void make_key(void) { pthread_key_create(&scratch_key, free_scratch); }

float* thread_scratch(int slot, size_t floats) {
  pthread_once(&scratch_once, make_key);
  scratch* s = pthread_getspecific(scratch_key);
  if (s == NULL) {
    s = calloc(1, sizeof(scratch));
    if (s == NULL) abort();
    pthread_setspecific(scratch_key, s);
  }
  if (s->floats[slot] < floats) {
    free(s->data[slot]);
    void* p = NULL;
    if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) abort();
    s->data[slot] = p;
    s->floats[slot] = floats;
  }
  return s->data[slot];
}
