// Terminal restoration on every exit path. endwin() is not async-signal-safe, so INT/TERM/HUP
// only record the signal and wake the UI loop through a pipe; the loop then calls endwin() on its
// own thread. Fatal signals (a crash or Swift's fatalError trap) restore the saved termios and
// leave the alternate screen with write(2), both async-signal-safe, then re-raise so the process
// still dies with the original signal.
#include "fleet_tty.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t pending;
static int wake_fd = -1;
static int saved;
static struct termios saved_tios;
static struct sigaction prev_winch;

static void wake(char b) {
    if (wake_fd >= 0) { ssize_t r = write(wake_fd, &b, 1); (void)r; }
}

static void on_signal(int sig) {
    pending = sig;
    wake(1);
}

static void restore_tty_raw(void) {
    if (saved) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tios);
    static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
    ssize_t r = write(STDOUT_FILENO, reset, sizeof reset - 1); (void)r;
}

static void on_fatal(int sig) {
    restore_tty_raw();
    signal(sig, SIG_DFL);
    raise(sig);
}

void fleet_save_termios(void) {
    if (tcgetattr(STDIN_FILENO, &saved_tios) == 0) saved = 1;
}

void fleet_install_signals(int fd) {
    wake_fd = fd;
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction fa;
    sigemptyset(&fa.sa_mask);
    fa.sa_flags = SA_RESETHAND;
    fa.sa_handler = on_fatal;
    int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
    for (unsigned i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &fa, NULL);
}

// SIGWINCH may be delivered to any thread (Swift's task pool threads included); curses' own
// handler only sets a flag, so the UI thread could sleep in poll(2) through a resize. This runs
// curses' handler and then wakes the loop.
static void on_winch(int sig) {
    if (prev_winch.sa_flags & SA_SIGINFO) {
        if (prev_winch.sa_sigaction) prev_winch.sa_sigaction(sig, NULL, NULL);
    } else if (prev_winch.sa_handler != SIG_DFL && prev_winch.sa_handler != SIG_IGN && prev_winch.sa_handler) {
        prev_winch.sa_handler(sig);
    }
    wake(2);
}

void fleet_chain_sigwinch(void) {
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, &prev_winch);
}

int fleet_take_signal(void) {
    int s = pending;
    pending = 0;
    return s;
}
