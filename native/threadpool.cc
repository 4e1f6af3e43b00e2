#include "threadpool.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>

namespace ctr {

namespace {

// True on pool workers, and on a caller while its job runs: run() on such a thread is nested
// inside a task and must not wait for the pool it is part of.
thread_local bool tInPool = false;

inline void cpuRelax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct ThreadPool::Job {
  const std::function<void(int)>* fn;
  int ntasks;
  std::atomic<int> next{0};
  std::atomic<int> pending;
  std::atomic<int> active{0};  // workers inside; the caller waits for 0 before the job dies
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // set by the one thread that flips `failed`

  Job(const std::function<void(int)>& f, int n) : fn(&f), ntasks(n), pending(n) {}

  void work() {
    for (;;) {
      int t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= ntasks) return;
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          (*fn)(t);
        } catch (...) {
          if (!failed.exchange(true)) error = std::current_exception();
        }
      }
      // Release: the caller sees this task's writes (and `error`) once pending reaches 0.
      pending.fetch_sub(1, std::memory_order_release);
    }
  }
};

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() { setThreads(defaultThreads()); }

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_.store(false);
}

void ThreadPool::setThreads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> submit(submit_);
  if (n == threads() && (int)workers_.size() == n - 1) return;
  stopWorkers();
  nthreads_.store(n);
  // No job is in flight (submit_ is held), so new workers start from the current generation.
  uint64_t now = generation_.load();
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, now] { workerLoop(now); });
}

void ThreadPool::workerLoop(uint64_t seen) {
  tInPool = true;
  for (;;) {
    // Spin briefly: kernels are issued back to back during a training step.
    for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen &&
                       !stop_.load(std::memory_order_relaxed);
         ++spin)
      cpuRelax();
    Job* job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
      if (stop_.load()) return;
      seen = generation_.load();
      job = job_;
      if (!job) continue;  // woke after that job had already finished
      job->active.fetch_add(1, std::memory_order_relaxed);
    }
    job->work();
    job->active.fetch_sub(1, std::memory_order_release);  // last touch of *job
  }
}

void ThreadPool::run(int ntasks, const std::function<void(int)>& fn) {
  if (ntasks <= 0) return;
  auto inline_ = [&] {
    for (int t = 0; t < ntasks; ++t) fn(t);
  };
  if (ntasks == 1 || threads() == 1 || tInPool) return inline_();
  std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
  if (!submit.owns_lock() || workers_.empty()) return inline_();  // another caller's job is in flight

  struct InPool {
    InPool() { tInPool = true; }
    ~InPool() { tInPool = false; }
  } inPool;
  Job job(fn, ntasks);
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &job;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  job.work();
  while (job.pending.load(std::memory_order_acquire) != 0) cpuRelax();
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = nullptr;
  }
  // A worker that picked the job up may still be between its last task and leaving.
  while (job.active.load(std::memory_order_acquire) != 0) cpuRelax();
  if (job.error) std::rethrow_exception(job.error);
}

namespace {

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int cpusFor(double quota, double period) {
  if (!(quota > 0) || !(period > 0)) return 0;
  return std::max(1, (int)std::ceil(quota / period));
}

// Smallest positive limit over `dir` and its ancestors up to `top`: a quota on any enclosing
// cgroup applies. Levels that do not exist are skipped, which also covers a container whose
// cgroup path (from /proc/self/cgroup) is the host's while its mount shows only its own subtree.
template <typename Read>
int smallestUpTo(const std::string& top, std::string dir, Read read) {
  int best = 0;
  for (;;) {
    int v = read(dir);
    if (v > 0 && (best == 0 || v < best)) best = v;
    if (dir.size() <= top.size()) return best;
    dir = dir.substr(0, dir.find_last_of('/'));
    if (dir.size() < top.size()) dir = top;
  }
}

}  // namespace

int cgroupCpuLimit(const std::string& root) {
  std::istringstream lines(readFile(root + "/proc/self/cgroup"));
  std::string line;
  int best = 0;
  auto take = [&](int v) {
    if (v > 0 && (best == 0 || v < best)) best = v;
  };
  while (std::getline(lines, line)) {
    // hierarchy-id:controllers:path
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (!path.empty() && path.back() == '/') path.pop_back();
    if (controllers.empty()) {  // v2: "max 100000" or "150000 100000"
      std::string top = root + "/sys/fs/cgroup";
      take(smallestUpTo(top, top + path, [](const std::string& d) {
        std::istringstream s(readFile(d + "/cpu.max"));
        std::string q;
        double p = 0;
        if (!(s >> q >> p) || q == "max") return 0;
        return cpusFor(std::atof(q.c_str()), p);
      }));
      continue;
    }
    bool cpu = false;
    std::istringstream cs(controllers);
    for (std::string c; std::getline(cs, c, ',');) cpu = cpu || c == "cpu";
    if (!cpu) continue;
    // v1: the controller is mounted under its own name, or the co-mounted list.
    for (const std::string& mount : {controllers, std::string("cpu"), std::string("cpu,cpuacct")}) {
      std::string top = root + "/sys/fs/cgroup/" + mount;
      take(smallestUpTo(top, top + path, [](const std::string& d) {
        double q = std::atof(readFile(d + "/cpu.cfs_quota_us").c_str());  // -1: none
        return cpusFor(q, std::atof(readFile(d + "/cpu.cfs_period_us").c_str()));
      }));
    }
  }
  return best;
}

int defaultThreads() {
  unsigned hc = std::thread::hardware_concurrency();
  int n = hc == 0 ? 1 : (int)hc;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = std::min(n, std::max(1, CPU_COUNT(&set)));
  int quota = cgroupCpuLimit("");
  if (quota > 0) n = std::min(n, quota);
  return std::max(1, n);
}

}  // namespace ctr
