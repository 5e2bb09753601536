/*
 * console_fmt: how kdex-console prints kdexd's answers.
 *
 * Three modes, chosen once at start-up: aligned tables with a header when
 * stdout is a terminal, plain tab-separated rows without a header when it
 * is not (so `cut -f2` and `while read` work, as with redis-cli), and the
 * raw JSON body with --json. Values are printed as kdexd sent them: amounts
 * are decimal strings and are never converted to numbers here.
 */
#ifndef KDEX_CONSOLE_FMT_H
#define KDEX_CONSOLE_FMT_H

#include <stdio.h>

#include <cjson/cJSON.h>

enum console_mode {
	CONSOLE_MODE_TABLE,
	CONSOLE_MODE_TSV,
	CONSOLE_MODE_JSON
};

/* A column: its header and the dotted path of the value in each row. */
struct console_col {
	const char	*title;
	const char	*path;		/* e.g. "base.symbol" */
};

/*
 * The member at dotted path ("a.b.c") of obj, or NULL. The result belongs
 * to obj.
 */
const cJSON	*console_fmt_get(const cJSON *obj, const char *path);

/*
 * v as text: strings verbatim, numbers and booleans as JSON spells them,
 * arrays of scalars joined with ",", other arrays and objects as compact
 * JSON, NULL or null as "". Control characters become '?' (tab, CR and LF
 * become ' ') so that server data can neither break a TSV row nor drive
 * the terminal. The caller frees the result.
 */
char		*console_fmt_value(const cJSON *v);

/*
 * Print rows (an array of objects) with the given columns. TABLE: a
 * header, one aligned line per row, "-" for an empty cell and "(N rows)"
 * at the end. TSV: one line per row, cells separated by tabs. JSON: the
 * array, compact, on one line.
 */
void		 console_fmt_table(FILE *, enum console_mode,
		    const struct console_col *, size_t ncols, const cJSON *rows);

/*
 * Print the members of obj one per line, nested objects flattened to
 * dotted keys: "key  value" aligned (TABLE) or "key<TAB>value" (TSV).
 * Members named in skip (NULL-terminated, may be NULL) are left out so the
 * caller can print them as tables.
 */
void		 console_fmt_object(FILE *, enum console_mode, const cJSON *obj,
		    const char *const *skip);

/* Display width of UTF-8 text s (code points; no wide characters here). */
size_t		 console_fmt_width(const char *s);

#endif
