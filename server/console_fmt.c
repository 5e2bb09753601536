/*
 * console_fmt: tables, tab-separated rows and key/value listings of kdexd's
 * JSON answers (see console_fmt.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "console_fmt.h"
#include "util.h"

const cJSON *
console_fmt_get(const cJSON *obj, const char *path)
{
	const char	*dot;
	char		 name[128];
	size_t		 n;

	while (obj != NULL && *path != '\0') {
		if ((dot = strchr(path, '.')) == NULL)
			dot = path + strlen(path);
		n = (size_t)(dot - path);
		if (n >= sizeof name)
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		if (!cJSON_IsObject(obj))
			return NULL;
		obj = cJSON_GetObjectItemCaseSensitive(obj, name);
		path = *dot == '.' ? dot + 1 : dot;
	}
	return obj;
}

/* Make s safe for one cell: no tabs, newlines or terminal escapes. */
static void
console_fmt_clean(char *s)
{
	unsigned char	*p;

	for (p = (unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

static char *
console_fmt_scalar(const cJSON *v)
{
	char	*s;

	if (v == NULL || cJSON_IsNull(v))
		return xstrdup("");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsTrue(v))
		return xstrdup("true");
	if (cJSON_IsFalse(v))
		return xstrdup("false");
	/* Numbers (ids, times, counts) exactly as cJSON spells them. */
	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		fatalx("cJSON_PrintUnformatted");
	return s;
}

char *
console_fmt_value(const cJSON *v)
{
	const cJSON	*e;
	char		*s, *t, *u;
	int		 scalars = 1;

	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			if (cJSON_IsArray(e) || cJSON_IsObject(e))
				scalars = 0;
		}
	}
	if (cJSON_IsArray(v) && scalars) {
		s = xstrdup("");
		cJSON_ArrayForEach(e, v) {
			t = console_fmt_scalar(e);
			xasprintf(&u, "%s%s%s", s, *s != '\0' ? "," : "", t);
			free(s);
			free(t);
			s = u;
		}
	} else
		s = console_fmt_scalar(v);
	console_fmt_clean(s);
	return s;
}

size_t
console_fmt_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static void
console_fmt_pad(FILE *f, const char *s, size_t width)
{
	size_t	w;

	fputs(s, f);
	for (w = console_fmt_width(s); w < width; w++)
		fputc(' ', f);
}

static void
console_fmt_json(FILE *f, const cJSON *v)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		fatalx("cJSON_PrintUnformatted");
	fprintf(f, "%s\n", s);
	free(s);
}

void
console_fmt_table(FILE *f, enum console_mode mode,
    const struct console_col *cols, size_t ncols, const cJSON *rows)
{
	const cJSON	*row;
	char	       **cells;
	size_t		*width, nrows, i, j;

	if (mode == CONSOLE_MODE_JSON) {
		console_fmt_json(f, rows);
		return;
	}
	nrows = cJSON_IsArray(rows) ? (size_t)cJSON_GetArraySize(rows) : 0;
	cells = xcalloc(nrows * ncols + 1, sizeof *cells);
	width = xcalloc(ncols + 1, sizeof *width);
	for (j = 0; j < ncols; j++)
		width[j] = console_fmt_width(cols[j].title);
	i = 0;
	cJSON_ArrayForEach(row, rows) {
		if (i >= nrows)
			break;
		for (j = 0; j < ncols; j++) {
			cells[i * ncols + j] = console_fmt_value(
			    console_fmt_get(row, cols[j].path));
			if (mode == CONSOLE_MODE_TABLE &&
			    *cells[i * ncols + j] == '\0') {
				free(cells[i * ncols + j]);
				cells[i * ncols + j] = xstrdup("-");
			}
			if (console_fmt_width(cells[i * ncols + j]) > width[j])
				width[j] = console_fmt_width(
				    cells[i * ncols + j]);
		}
		i++;
	}

	if (mode == CONSOLE_MODE_TABLE) {
		for (j = 0; j < ncols; j++) {
			if (j + 1 < ncols)
				console_fmt_pad(f, cols[j].title, width[j] + 2);
			else
				fputs(cols[j].title, f);
		}
		fputc('\n', f);
	}
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			if (mode == CONSOLE_MODE_TSV) {
				if (j > 0)
					fputc('\t', f);
				fputs(cells[i * ncols + j], f);
			} else if (j + 1 < ncols)
				console_fmt_pad(f, cells[i * ncols + j],
				    width[j] + 2);
			else
				fputs(cells[i * ncols + j], f);
			free(cells[i * ncols + j]);
		}
		fputc('\n', f);
	}
	if (mode == CONSOLE_MODE_TABLE)
		fprintf(f, "(%zu row%s)\n", nrows, nrows == 1 ? "" : "s");
	free(cells);
	free(width);
}

static int
console_fmt_skipped(const char *name, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++) {
		if (strcmp(name, *skip) == 0)
			return 1;
	}
	return 0;
}

/* Collect "key", "value" pairs of obj, flattened, into keys/vals. */
static void
console_fmt_flatten(const cJSON *obj, const char *prefix,
    const char *const *skip, char ***keys, char ***vals, size_t *n)
{
	const cJSON	*m;
	char		*key;

	cJSON_ArrayForEach(m, obj) {
		if (m->string == NULL)
			continue;
		if (*prefix == '\0' && console_fmt_skipped(m->string, skip))
			continue;
		xasprintf(&key, "%s%s%s", prefix, *prefix != '\0' ? "." : "",
		    m->string);
		if (cJSON_IsObject(m) && m->child != NULL) {
			console_fmt_flatten(m, key, skip, keys, vals, n);
			free(key);
			continue;
		}
		*keys = xreallocarray(*keys, *n + 1, sizeof **keys);
		*vals = xreallocarray(*vals, *n + 1, sizeof **vals);
		console_fmt_clean(key);
		(*keys)[*n] = key;
		(*vals)[*n] = console_fmt_value(m);
		(*n)++;
	}
}

void
console_fmt_object(FILE *f, enum console_mode mode, const cJSON *obj,
    const char *const *skip)
{
	char	**keys = NULL, **vals = NULL;
	size_t	  n = 0, i, width = 0;

	if (mode == CONSOLE_MODE_JSON) {
		console_fmt_json(f, obj);
		return;
	}
	if (!cJSON_IsObject(obj))
		return;
	console_fmt_flatten(obj, "", skip, &keys, &vals, &n);
	for (i = 0; i < n; i++) {
		if (console_fmt_width(keys[i]) > width)
			width = console_fmt_width(keys[i]);
	}
	for (i = 0; i < n; i++) {
		if (mode == CONSOLE_MODE_TSV)
			fprintf(f, "%s\t%s\n", keys[i], vals[i]);
		else {
			console_fmt_pad(f, keys[i], width + 2);
			fprintf(f, "%s\n", *vals[i] != '\0' ? vals[i] : "-");
		}
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
}
