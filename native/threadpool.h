// Fixed-size worker pool for the native kernels.
// Work is expressed as `ntasks` independent tasks; which thread runs a task never changes its
// result, and tasks are defined by the problem size only (never by the thread count), so every
// kernel gives bit-identical results with any number of threads.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ctr {

class ThreadPool {
 public:
  static ThreadPool& instance();
  ~ThreadPool();
  void setThreads(int n);  // n >= 1; total threads including the caller
  int threads() const { return nthreads_; }
  // Runs fn(t) for every t in [0, ntasks), the caller taking part; returns when all are done.
  // Not re-entrant: a task must not call run() itself (nested calls run inline).
  void run(int ntasks, const std::function<void(int)>& fn);

 private:
  ThreadPool();
  void workerLoop(int id);
  void stopWorkers();

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(int)>* job_ = nullptr;
  int ntasks_ = 0;
  std::atomic<int> next_{0};
  std::atomic<int> pending_{0};
  // Workers inside the current job; run() waits for them to leave before the next job can
  // reset next_, so a late worker can never pair a new task index with the old job.
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  bool inRun_ = false;
};

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
