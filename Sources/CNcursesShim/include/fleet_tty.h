// Signal routing and last-resort terminal restoration for the dashboard. The state lives in
// fleet_tty.c, once per process (a static in a `static inline` header function would be copied
// into every Swift file that calls it).
#ifndef FLEET_TTY_H
#define FLEET_TTY_H

// Included here so that a module built before that header existed is rebuilt (clang does not
// notice a new file in an umbrella directory).
#include "fleet_malloc.h"

// Saves the terminal modes, so a crash can restore them. Call before curses changes them.
void fleet_save_termios(void);

// INT/TERM/HUP record the signal and write a byte to `wake_fd`; fatal signals (a crash, Swift's
// fatalError trap) restore the terminal and re-raise.
void fleet_install_signals(int wake_fd);

// Also wakes `wake_fd` on SIGWINCH, keeping the handler curses installed. Call after initscr().
void fleet_chain_sigwinch(void);

// The INT/TERM/HUP signal that arrived since the last call, or 0.
int fleet_take_signal(void);

#endif
