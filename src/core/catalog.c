/* Catalog helpers. */
#include "core/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

static void sl_qualify_part(sl_buf *b, const char *part)
{
	if (strpbrk(part, ".\"") == NULL) {
		sl_buf_puts(b, part);
		return;
	}
	sl_buf_put_quoted(b, part, '"');
}

char *sl_qualify(const char *schema, const char *name)
{
	sl_buf b = {0};
	sl_qualify_part(&b, schema);
	sl_buf_putc(&b, '.');
	sl_qualify_part(&b, name);
	sl_buf_putc(&b, '\0');
	return (char *)b.data;
}

/* One part of a qualified name from *p (up to an unquoted '.' or the end); *p moves past it. */
static char *sl_unqualify_part(const char **p)
{
	sl_buf b = {0};
	const char *s = *p;
	if (*s == '"') {
		for (s++; *s; s++) {
			if (*s == '"' && s[1] == '"')
				s++;
			else if (*s == '"') {
				s++;
				break;
			}
			sl_buf_putc(&b, *s);
		}
	} else {
		while (*s && *s != '.')
			sl_buf_putc(&b, *s++);
	}
	sl_buf_putc(&b, '\0');
	*p = s;
	return (char *)b.data;
}

int sl_unqualify(const char *qualified, char **schema, char **name)
{
	const char *p = qualified;
	*schema = sl_unqualify_part(&p);
	*name = NULL;
	if (*p == '.') {
		p++;
		*name = sl_unqualify_part(&p);
	}
	if (*name == NULL || *p != '\0') {
		free(*schema);
		free(*name);
		*schema = *name = NULL;
		return -1;
	}
	return 0;
}

sl_skipped_column *sl_table_skip_column(sl_table_def *t, const char *name, const char *source_type,
                                        const char *reason)
{
	t->skipped = sl_realloc(t->skipped, (size_t)(t->nskipped + 1) * sizeof *t->skipped);
	sl_skipped_column *sk = &t->skipped[t->nskipped++];
	memset(sk, 0, sizeof *sk);
	sk->name = sl_strdup(name);
	sk->source_type = sl_strdup(source_type);
	sk->reason = sl_strdup(reason);
	return sk;
}

void sl_table_def_free(sl_table_def *t)
{
	free(t->schema);
	free(t->name);
	free(t->qualified);
	free(t->identity);
	for (int i = 0; i < t->nfields; i++)
		sl_field_reset(&t->fields[i]);
	free(t->fields);
	free(t->key);
	for (int i = 0; i < t->nrequires; i++) {
		free(t->requires[i].type_name);
		free(t->requires[i].ddl);
	}
	free(t->requires);
	for (int i = 0; i < t->nskipped; i++) {
		free(t->skipped[i].name);
		free(t->skipped[i].source_type);
		free(t->skipped[i].reason);
		free(t->skipped[i].expression);
	}
	free(t->skipped);
	for (int i = 0; i < t->nexcluded; i++)
		free(t->excluded[i]);
	free(t->excluded);
	free(t->masks);
	if (t->read_fields)
		for (int i = 0; i < t->nfields; i++)
			sl_field_reset(&t->read_fields[i]);
	free(t->read_fields);
	if (t->priv_free)
		t->priv_free(t->priv);
	memset(t, 0, sizeof *t);
}

int sl_catalog_find(const sl_catalog *cat, const char *qualified)
{
	for (int i = 0; i < cat->ntables; i++)
		if (strcmp(cat->tables[i].qualified, qualified) == 0)
			return i;
	return -1;
}

bool sl_catalog_selects(const sl_catalog *cat, const sl_config *cfg, const char *qualified,
                        const char *identity)
{
	const sl_globs none = {0};
	if (sl_globs_select(&cfg->source.include, &cfg->source.exclude, qualified))
		return true;
	if (identity == NULL || !sl_globs_select(&none, &cfg->source.exclude, qualified))
		return false;
	for (int i = 0; i < cat->nfollow; i++)
		if (strcmp(cat->follow[i], identity) == 0)
			return true;
	return false;
}

void sl_catalog_free(sl_catalog *c)
{
	for (int i = 0; i < c->ntables; i++)
		sl_table_def_free(&c->tables[i]);
	free(c->tables);
	c->tables = NULL;
	c->ntables = 0;
	free(c->only_schema);
	c->only_schema = NULL;
	sl_catalog_free_fks(c);
}

void sl_catalog_free_fks(sl_catalog *c)
{
	for (int i = 0; i < c->nfks; i++) {
		sl_foreign_key *fk = &c->fks[i];
		for (int k = 0; k < fk->ncols; k++) {
			free(fk->child_cols[k]);
			free(fk->parent_cols[k]);
		}
		free(fk->child_cols);
		free(fk->parent_cols);
		free(fk->name);
		free(fk->child);
		free(fk->parent);
	}
	free(c->fks);
	c->fks = NULL;
	c->nfks = 0;
}

/* The next foreign key of c at or after *i whose child table is in c, or NULL. */
static const sl_foreign_key *sl_next_fk(const sl_catalog *c, int *i)
{
	for (; *i < c->nfks; (*i)++)
		if (sl_catalog_find(c, c->fks[*i].child) >= 0)
			return &c->fks[(*i)++];
	return NULL;
}

bool sl_catalog_same_fks(const sl_catalog *a, const sl_catalog *b)
{
	int i = 0, j = 0;
	for (;;) {
		const sl_foreign_key *x = sl_next_fk(a, &i), *y = sl_next_fk(b, &j);
		if (x == NULL || y == NULL)
			return x == y;
		if (strcmp(x->name, y->name) != 0 || strcmp(x->child, y->child) != 0 ||
		    strcmp(x->parent, y->parent) != 0 || x->ncols != y->ncols ||
		    x->on_delete != y->on_delete || x->on_update != y->on_update)
			return false;
		for (int k = 0; k < x->ncols; k++)
			if (strcmp(x->child_cols[k], y->child_cols[k]) != 0 ||
			    strcmp(x->parent_cols[k], y->parent_cols[k]) != 0)
				return false;
	}
}

void sl_catalog_add_fk(sl_catalog *c, const char *name, const char *child, const char *parent,
                       int n, char *const *child_cols, char *const *parent_cols,
                       sl_fk_action on_delete, sl_fk_action on_update)
{
	c->fks = sl_realloc(c->fks, sizeof *c->fks * (size_t)(c->nfks + 1));
	sl_foreign_key *fk = &c->fks[c->nfks++];
	fk->name = sl_strdup(name);
	fk->child = sl_strdup(child);
	fk->parent = sl_strdup(parent);
	fk->ncols = n;
	fk->child_cols = sl_calloc((size_t)n, sizeof *fk->child_cols);
	fk->parent_cols = sl_calloc((size_t)n, sizeof *fk->parent_cols);
	for (int k = 0; k < n; k++) {
		fk->child_cols[k] = sl_strdup(child_cols[k]);
		fk->parent_cols[k] = sl_strdup(parent_cols[k]);
	}
	fk->on_delete = on_delete;
	fk->on_update = on_update;
}

void sl_table_add_requirement(sl_table_def *t, const char *type_name, const char *ddl)
{
	for (int i = 0; i < t->nrequires; i++)
		if (strcmp(t->requires[i].ddl, ddl) == 0)
			return;
	t->requires = sl_realloc(t->requires, sizeof *t->requires * (size_t)(t->nrequires + 1));
	t->requires[t->nrequires].type_name = type_name ? sl_strdup(type_name) : NULL;
	t->requires[t->nrequires].ddl = sl_strdup(ddl);
	t->nrequires++;
}
