// Curses macros that Swift cannot import (function-like or computed), exposed as inline functions.
// Wide-character API needs NCURSES_WIDECHAR before the header is read.
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

// Signal and tty state (one copy per process) is in the CNcursesShim C target, fleet_tty.c.

#endif
