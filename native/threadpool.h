// Fixed-size worker pool for the native kernels, one per process (Node worker_threads that load
// the addon share it).
// Work is expressed as `ntasks` independent tasks; which thread runs a task never changes its
// result, and tasks are defined by the problem size only (never by the thread count), so every
// kernel gives bit-identical results with any number of threads.
//
// Concurrent callers: each run() owns its job state (on its stack). The pool serves one job at
// a time; a caller that finds it busy runs its own tasks inline on its thread instead of
// queueing. Results are the same either way (see above), no caller ever waits for another
// caller's kernel (a small scoring request is not stuck behind a large batch), and no lock is
// held while waiting, so nothing can deadlock. The cost: while two callers overlap, the second
// one gets one core.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ctr {

class ThreadPool {
 public:
  static ThreadPool& instance();
  ~ThreadPool();
  // n >= 1; total threads including the caller. Waits for the job in flight, if any.
  void setThreads(int n);
  int threads() const { return nthreads_.load(std::memory_order_relaxed); }
  // Runs fn(t) for every t in [0, ntasks), the caller taking part; returns when all are done.
  // If tasks throw, the remaining ones are skipped and the first exception is rethrown here,
  // after every worker has left the job; the pool stays usable. A task may call run() again:
  // the nested call runs inline.
  void run(int ntasks, const std::function<void(int)>& fn);

 private:
  struct Job;
  ThreadPool();
  void workerLoop(uint64_t seen);
  void stopWorkers();

  std::atomic<int> nthreads_{1};
  // Held by the caller whose job the workers serve, and by setThreads; guards workers_.
  std::mutex submit_;
  std::vector<std::thread> workers_;
  std::mutex mu_;  // guards job_ and the wake-up of idle workers
  std::condition_variable cv_;
  Job* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

// Default pool size: the CPUs this process may actually use, i.e. the smallest of the host's
// core count, the affinity mask (taskset, cpuset) and the cgroup CPU quota (containers).
int defaultThreads();
// CPU limit from the cgroup quota (v2 cpu.max or v1 cpu.cfs_quota_us / cpu.cfs_period_us),
// rounded up, as seen from the file-system root `root` ("" in production; tests pass a fake
// tree). 0 when there is no quota.
int cgroupCpuLimit(const std::string& root);

// Splits [0, n) into chunks of `grain` items (the decomposition depends only on n and grain)
// and runs fn(begin, end) for each chunk on the pool.
inline void parallelFor(long n, long grain, const std::function<void(long, long)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  long chunks = (n + grain - 1) / grain;
  if (chunks == 1 || ThreadPool::instance().threads() == 1) {
    for (long c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
  ThreadPool::instance().run((int)chunks, [&](int c) { fn((long)c * grain, std::min(n, ((long)c + 1) * grain)); });
}

}  // namespace ctr
