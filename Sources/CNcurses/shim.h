// Curses macros that Swift cannot import (function-like or computed), exposed as inline functions.
// Wide-character API needs NCURSES_WIDECHAR before the header is read (style.md A4.2).
#ifndef FLEET_CNCURSES_SHIM_H
#define FLEET_CNCURSES_SHIM_H

#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <locale.h>
#include <wchar.h>
#include <stdlib.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#if __has_include(<ncursesw/ncurses.h>)
#include <ncursesw/ncurses.h>
#else
#include <ncurses.h>
#endif

static inline WINDOW *fleet_stdscr(void) { return stdscr; }
static inline int fleet_lines(void) { return LINES; }
static inline int fleet_cols(void) { return COLS; }
static inline int fleet_color_pairs(void) { return COLOR_PAIRS; }
static inline int fleet_colors(void) { return COLORS; }

static inline attr_t fleet_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }
static inline attr_t fleet_a_normal(void) { return A_NORMAL; }
static inline attr_t fleet_a_bold(void) { return A_BOLD; }
static inline attr_t fleet_a_dim(void) { return A_DIM; }
static inline attr_t fleet_a_reverse(void) { return A_REVERSE; }
static inline attr_t fleet_a_underline(void) { return A_UNDERLINE; }
static inline attr_t fleet_a_italic(void) { return A_ITALIC; }

static inline void fleet_getmaxyx(WINDOW *w, int *y, int *x) { int yy, xx; getmaxyx(w, yy, xx); *y = yy; *x = xx; }

static inline int fleet_key_resize(void) { return KEY_RESIZE; }
static inline int fleet_key_code_yes(void) { return KEY_CODE_YES; }
static inline int fleet_key_mouse(void) { return KEY_MOUSE; }

// Draw `len` UTF-32 scalars forming one grapheme at (y, x) with attributes and a colour pair.
// Building cchar_t from Swift is awkward, so it happens here.
static inline int fleet_put_cell(WINDOW *w, int y, int x, const wchar_t *chars, attr_t attrs, short pair) {
    cchar_t c;
    if (setcchar(&c, chars, attrs, pair, NULL) != OK) return ERR;
    return mvwadd_wch(w, y, x, &c);
}

// Mouse events: ncurses fills a MEVENT; flatten it for Swift.
static inline int fleet_get_mouse(int *x, int *y, unsigned long *bstate) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return ERR;
    *x = ev.x; *y = ev.y; *bstate = (unsigned long)ev.bstate;
    return OK;
}
static inline unsigned long fleet_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline unsigned long fleet_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline unsigned long fleet_button1_released(void) { return BUTTON1_RELEASED; }
static inline unsigned long fleet_button4_pressed(void) { return BUTTON4_PRESSED; }
#ifdef BUTTON5_PRESSED
static inline unsigned long fleet_button5_pressed(void) { return BUTTON5_PRESSED; }
#else
static inline unsigned long fleet_button5_pressed(void) { return 0; }
#endif
static inline unsigned long fleet_all_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }

// ---- Terminal restoration on every exit path (style.md A4.9) ----
// endwin() is not async-signal-safe, so INT/TERM/HUP only record the signal and wake the UI loop
// through a pipe; the loop then calls endwin() on its own thread. Fatal signals (a crash or Swift's
// fatalError trap) restore the saved termios and leave the alternate screen with write(2), both
// async-signal-safe, then re-raise so the process still dies with the original signal.
// State lives in a function-local static (Swift emits imported inline functions but not header
// globals). Use these functions from ONE Swift file (TerminalGuard.swift): each Swift object file
// gets its own copy of a static inline function and of its statics.
struct fleet_tty_state {
    volatile sig_atomic_t pending;
    int wake_fd;
    int saved;
    struct termios tios;
};

static inline struct fleet_tty_state *fleet_tty(void) {
    static struct fleet_tty_state st = { 0, -1, 0 };
    return &st;
}

static inline void fleet_on_signal(int sig) {
    fleet_tty()->pending = sig;
    if (fleet_tty()->wake_fd >= 0) { char b = 1; ssize_t r = write(fleet_tty()->wake_fd, &b, 1); (void)r; }
}

static inline void fleet_restore_tty_raw(void) {
    if (fleet_tty()->saved) tcsetattr(STDIN_FILENO, TCSANOW, &fleet_tty()->tios);
    static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
    ssize_t r = write(STDOUT_FILENO, reset, sizeof reset - 1); (void)r;
}

static inline void fleet_on_fatal(int sig) {
    fleet_restore_tty_raw();
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void fleet_save_termios(void) {
    if (tcgetattr(STDIN_FILENO, &fleet_tty()->tios) == 0) fleet_tty()->saved = 1;
}

static inline void fleet_install_signals(int wake_fd) {
    fleet_tty()->wake_fd = wake_fd;
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sa.sa_handler = fleet_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction fa;
    sigemptyset(&fa.sa_mask);
    fa.sa_flags = SA_RESETHAND;
    fa.sa_handler = fleet_on_fatal;
    int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
    for (unsigned i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &fa, NULL);
}

// SIGWINCH may be delivered to any thread (Swift's task pool threads included); curses' own handler
// only sets a flag, so the UI thread could sleep in poll(2) through a resize. Chain a handler that
// runs curses' handler and then wakes the loop. Call after initscr(), which installs curses' one.
static inline struct sigaction *fleet_prev_winch(void) {
    static struct sigaction prev;
    return &prev;
}

static inline void fleet_on_winch(int sig) {
    struct sigaction *p = fleet_prev_winch();
    if (p->sa_flags & SA_SIGINFO) {
        if (p->sa_sigaction) p->sa_sigaction(sig, NULL, NULL);
    } else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN && p->sa_handler) {
        p->sa_handler(sig);
    }
    if (fleet_tty()->wake_fd >= 0) { char b = 2; ssize_t r = write(fleet_tty()->wake_fd, &b, 1); (void)r; }
}

static inline void fleet_chain_sigwinch(void) {
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = fleet_on_winch;
    sigaction(SIGWINCH, &sa, fleet_prev_winch());
}

static inline int fleet_take_signal(void) {
    int s = fleet_tty()->pending;
    fleet_tty()->pending = 0;
    return s;
}

#endif
