/*
 * config.c - settings come from the environment only (the operator's .env
 * names), so secrets never live in the repository or in a config file we
 * ship.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "oshxona.h"

#define ENVFILE_LINE_MAX 4096
#define SECRET_MIN_LEN   32

/* Parses one .env line in place; 1 with name/value set, 0 to skip, -1 bad. */
static int
config_parse_line(char *line, char **name, char **value)
{
	char *p = line, *eq, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if (strncmp(p, "export ", 7) == 0)
		p += 7;
	eq = strchr(p, '=');
	if (eq == NULL)
		return -1;
	end = eq;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (*p == '\0')
		return -1;
	for (char *c = p; *c != '\0'; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_'))
			return -1;
	*name = p;

	p = eq + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if ((*p == '"' || *p == '\'') && end - p >= 2 && end[-1] == *p) {
		end[-1] = '\0';
		p++;
	} else {
		/* An unquoted value ends at " #", as in most dotenv readers. */
		char *hash = strstr(p, " #");
		if (hash != NULL) {
			*hash = '\0';
			for (end = hash; end > p && isspace((unsigned char)end[-1]);)
				*--end = '\0';
		}
	}
	*value = p;
	return 1;
}

int
config_read_envfile(const char *path)
{
	char line[ENVFILE_LINE_MAX];
	FILE *f;
	int lineno = 0, rc = 0;

	f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name, *value;
		lineno++;
		switch (config_parse_line(line, &name, &value)) {
		case 1:
			if (setenv(name, value, 0) != 0)
				rc = -1;
			break;
		case 0:
			break;
		default:
			log_warn("%s:%d: not a KEY=VALUE line, ignored", path, lineno);
			break;
		}
	}
	fclose(f);
	return rc;
}

static const char *
config_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

/* A development secret: random, logged as generated, never reused. */
static const char *
config_dev_secret(const char *name)
{
	unsigned char raw[32];
	char hex[65];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		abort();
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	setenv(name, hex, 1);
	log_warn("%s is not set: generated a random one for development "
	         "(sessions and tokens will not survive a restart)",
	         name);
	return getenv(name);
}

int
config_load(struct config *cfg, const char *envfile, char *err, size_t errlen)
{
	const char *secrets[] = {"JWT_SECRET", "SESSION_SECRET"};
	const char **slots[] = {&cfg->jwt_secret, &cfg->session_secret};
	const char *port;

	if (config_read_envfile(envfile != NULL ? envfile : ".env") != 0) {
		snprintf(err, errlen, "cannot read %s", envfile ? envfile : ".env");
		return -1;
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->mongodb_uri = config_env("MONGODB_URI", "mongodb://127.0.0.1:27017/oshxona");
	cfg->node_env = config_env("NODE_ENV", "development");
	cfg->production = strcmp(cfg->node_env, "production") == 0;
	cfg->log_level = config_env("LOG_LEVEL", "info");
	cfg->log_file = config_env("LOG_FILE", "");
	cfg->bot_token = config_env("BOT_TOKEN", "");
	cfg->admin_panel_url = config_env("ADMIN_PANEL_URL", "http://127.0.0.1:8080");
	cfg->user_frontend_url = config_env("USER_FRONTEND_URL", "http://127.0.0.1:8080");
	cfg->api_base_url = config_env("API_BASE_URL", "http://127.0.0.1:8080");
	cfg->company_name = config_env("COMPANY_NAME", "Oshxona");

	port = config_env("PORT", "8080");
	if (parse_int64(port, 1, 65535, &cfg->port) != 0) {
		snprintf(err, errlen, "PORT must be 1..65535, not '%s'", port);
		return -1;
	}
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		const char *v = config_env(secrets[i], NULL);
		if (v != NULL && strlen(v) >= SECRET_MIN_LEN) {
			*slots[i] = v;
		} else if (cfg->production) {
			snprintf(err, errlen,
			         "%s must be set to at least %d characters when "
			         "NODE_ENV=production",
			         secrets[i], SECRET_MIN_LEN);
			return -1;
		} else {
			*slots[i] = config_dev_secret(secrets[i]);
		}
	}
	return 0;
}
