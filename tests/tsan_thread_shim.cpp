// ThreadSanitizer builds only. librdkafka uses C11 threads (thrd_*, mtx_*,
// cnd_*), which glibc >= 2.34 implements without going through the pthread
// functions TSan intercepts: TSan would not see its threads start (and crash
// in them) nor its locks (and report races that are not there). Defining the
// C11 functions in the test binary routes them through pthread, which TSan
// sees. glibc's mtx_t and cnd_t hold a pthread_mutex_t / pthread_cond_t.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {
struct start {
    thrd_start_t fn;
    void* arg;
};
void* run(void* p) {
    const start s = *static_cast<start*>(p);
    delete static_cast<start*>(p);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.fn(s.arg)));
}
int result(int rc) { return rc == 0 ? thrd_success : rc == ETIMEDOUT ? thrd_timedout : rc == ENOMEM ? thrd_nomem : thrd_error; }
pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }
}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
    auto* s = new (std::nothrow) start{fn, arg};
    if (!s) return thrd_nomem;
    const int rc = pthread_create(thr, nullptr, run, s);
    if (rc != 0) delete s;
    return result(rc);
}

int thrd_join(thrd_t thr, int* res) {
    void* ret = nullptr;
    const int rc = pthread_join(thr, &ret);
    if (rc == 0 && res) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(ret));
    return result(rc);
}

int mtx_init(mtx_t* m, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    const int rc = pthread_mutex_init(native(m), &attr);
    pthread_mutexattr_destroy(&attr);
    return result(rc);
}
int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(native(m))); }
int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(native(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

int cnd_init(cnd_t* c) { return result(pthread_cond_init(native(c), nullptr)); }
int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(native(c))); }
int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(native(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return result(pthread_cond_wait(native(c), native(m))); }
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* abs) {
    return result(pthread_cond_timedwait(native(c), native(m), abs));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

}  // extern "C"
