#!/usr/bin/env bash
# A real, throw-away WordPress (Debian bookworm's `wordpress` package) on loopback for the
# integration tests: MariaDB started by hand + `php -S 127.0.0.1:$WP_PORT`. No systemd, no Apache.
# Each state dir is its own site (MariaDB datadir and socket, wp-content, config), so several
# checkouts can run at once on different ports. Debian's wp-config.php picks its config file by
# host name only (the port stripped), so /etc/wordpress/config-127.0.0.1.php would be shared by
# every site on 127.0.0.1 -- a second checkout's or a writer's own WordPress. We never write it:
# our router.php sets $_SERVER['WORDPRESS_CONFIG'] (which Debian's wp-config.php honours) to
# pipeline-<hash of the state dir>: each site reads its own /etc/wordpress/config-pipeline-*.php.
#
#   scripts/wordpress.sh install   # apt packages (idempotent; fast no-op when already installed)
#   scripts/wordpress.sh start     # start MariaDB + PHP, install the site, write .wordpress/env.json
#   scripts/wordpress.sh reset     # delete all content (posts, media, terms) -- well under a second
#   scripts/wordpress.sh stop      # stop what `start` started
#   scripts/wordpress.sh status    # exit 0 and print the URL if up, exit 1 otherwise
#
# Must run as root (apt, /etc/wordpress, /var/lib/wordpress). Environment:
#   WP_PORT       port on 127.0.0.1 (default 8089)
#   WP_STATE_DIR  state dir (default <repo>/.wordpress, gitignored): MariaDB datadir, logs,
#                 pid files, generated router/setup scripts, secrets, env.json, wp-content
#                 (uploads). Use one state dir and one port per concurrently running site.
#
# env.json (read by tests/wp_local.py) is written by `start` and removed by `stop`:
#   {"url", "user", "app_password", "admin_password", "port", "pid_php", "pid_mariadb",
#    "db_socket", "db_name", "db_user", "db_password", "wp_version", "php_version",
#    "wp_content_dir", "uploads_dir", "wp_config"}
#
# `reset` is plain SQL + `rm` of the uploads: it deletes every post of every type/status
# (media, revisions, auto-drafts, trash, templates, menus...), all postmeta, comments, every term
# except category 1 "Uncategorized", every user except admin (id 1). The admin user and the
# application password are kept. AUTO_INCREMENT counters are deliberately NOT reset: ids are never
# reused, so a stale id from an earlier test gives a 404 instead of silently hitting a new object.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$(realpath -m "${WP_STATE_DIR:-$ROOT/.wordpress}")"
PORT="${WP_PORT:-8089}"
HOST=127.0.0.1
URL="http://$HOST:$PORT"
WP_DIR=/usr/share/wordpress
DEBIAN_CONTENT=/var/lib/wordpress/wp-content # themes, plugins, languages: shared, read-only
WP_CONTENT="$STATE/wp-content"                # this site's: symlinks to those + its own uploads
UPLOADS="$WP_CONTENT/uploads"
CONFIG_NAME="pipeline-$(printf %s "$STATE" | md5sum | cut -c1-12)"
WP_CONFIG="/etc/wordpress/config-$CONFIG_NAME.php"
CONFIG_MARK="// Written by scripts/wordpress.sh for $STATE -- throw-away test site, do not edit."
# What the earlier version of this script wrote for this checkout (removed by `start`).
LEGACY_CONFIG="/etc/wordpress/config-$HOST.php"
LEGACY_MARK="// Written by $ROOT/scripts/wordpress.sh start -- throw-away local test site, do not edit."
DATADIR="$STATE/mysql"
DB_NAME=wordpress
DB_USER=wordpress
ADMIN_USER=admin
APP_PASSWORD_NAME=pipeline-tests
ENV_JSON="$STATE/env.json"
SECRETS="$STATE/secrets.env"
PHP_PIDFILE="$STATE/php.pid"
DB_PIDFILE="$STATE/mariadb.pid"
SOCK="$STATE/mysqld.sock"
if ((${#SOCK} > 100)); then # unix socket paths are limited to 108 bytes
    SOCK="/tmp/wp-pipeline-$(printf %s "$STATE" | md5sum | cut -c1-12).sock"
fi

# chromium: the block tests open posts in the block editor (headless, over the DevTools protocol).
PACKAGES=(wordpress wordpress-theme-twentytwentythree php-cli php-cgi php-mysql php-gd
    php-mbstring php-xml mariadb-server mariadb-client mini-httpd curl ca-certificates chromium)
# Never let apt satisfy wordpress' "apache2 | httpd" and php's "libapache2-mod-php | php-fpm |
# php-cgi" with Apache or FPM: mini-httpd provides httpd, php-cgi provides php.
KEEP_OUT=(apache2 apache2-bin libapache2-mod-php libapache2-mod-php8.2 php-fpm php8.2-fpm)

log() { printf '[wordpress.sh] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
need_root() { [[ $EUID -eq 0 ]] || die "must run as root"; }
is_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }
# pid_alive PIDFILE: that pid runs php or mariadbd (so a recycled pid is never taken for ours)
pid_alive() {
    local pid
    [[ -s $1 ]] && pid="$(cat "$1")" && [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" =~ ^(php|mariadbd) ]]
}
# http_code URL [TIMEOUT [CURL_ARGS...]] -> prints the status code, 000 if nothing answers
http_code() {
    local url=$1 timeout=${2:-5}
    shift $(($# < 2 ? $# : 2))
    curl -s -o /dev/null -w '%{http_code}' --max-time "$timeout" "$@" "$url" 2>/dev/null || true
}

# Serialises start/stop/reset. The daemons are started with `9>&-` so they do not inherit the lock.
lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "could not lock $STATE/.lock"
}

# --------------------------------------------------------------------------------------- install
cmd_install() {
    need_root
    local missing=() p
    for p in "${PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
    if ((${#missing[@]} == 0)); then
        log "all packages already installed"
        return 0
    fi
    log "installing: ${missing[*]}"
    local args=("${PACKAGES[@]}")
    for p in "${KEEP_OUT[@]}"; do is_installed "$p" || args+=("$p-"); done

    # No service may start during the install (no systemd, and we start things ourselves).
    local policy=/usr/sbin/policy-rc.d backup=""
    if [[ -e $policy ]]; then
        backup="$(mktemp)"
        cp -p "$policy" "$backup"
    fi
    # shellcheck disable=SC2064
    trap "if [[ -n '$backup' ]]; then mv -f '$backup' '$policy'; else rm -f '$policy'; fi" EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"

    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${args[@]}")
    if ! "${apt[@]}"; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update -q
        "${apt[@]}"
    fi
    for p in "${PACKAGES[@]}"; do is_installed "$p" || die "package $p did not install"; done
    log "installed"
}

# ------------------------------------------------------------------------------------- secrets
load_secrets() {
    mkdir -p "$STATE"
    DB_PASSWORD="" ADMIN_PASSWORD="" APP_PASSWORD="" # never taken from the caller's environment
    if [[ -f $SECRETS ]]; then
        # shellcheck disable=SC1090
        source "$SECRETS"
    fi
    local changed=0
    if [[ -z ${DB_PASSWORD:-} ]]; then DB_PASSWORD="$(rand 24)" && changed=1; fi
    if [[ -z ${ADMIN_PASSWORD:-} ]]; then ADMIN_PASSWORD="$(rand 24)" && changed=1; fi
    APP_PASSWORD="${APP_PASSWORD:-}"
    ((changed)) && save_secrets
    return 0
}
save_secrets() {
    (
        umask 077
        printf 'DB_PASSWORD=%q\nADMIN_PASSWORD=%q\nAPP_PASSWORD=%q\n' \
            "$DB_PASSWORD" "$ADMIN_PASSWORD" "$APP_PASSWORD" >"$SECRETS.tmp"
    )
    mv -f "$SECRETS.tmp" "$SECRETS"
}
rand() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1" || true; }

# ------------------------------------------------------------------------------------- MariaDB
sql() { mariadb --no-defaults --socket="$SOCK" -uroot --batch --skip-column-names "$@"; }
db_up() { mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

start_db() {
    if db_up; then
        return 0
    fi
    if [[ ! -d $DATADIR/mysql ]]; then
        log "initialising MariaDB datadir $DATADIR"
        rm -rf "$DATADIR"
        mkdir -p "$DATADIR"
        mariadb-install-db --no-defaults --datadir="$DATADIR" --user=root \
            --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
            >"$STATE/mariadb-install.log" 2>&1 ||
            { tail -n 30 "$STATE/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    rm -f "$SOCK"
    log "starting MariaDB (socket $SOCK)"
    setsid mariadbd --no-defaults --user=root --datadir="$DATADIR" --socket="$SOCK" \
        --pid-file="$DB_PIDFILE" --skip-networking --skip-name-resolve \
        --log-error="$STATE/mariadb.log" --innodb-buffer-pool-size=128M \
        --innodb-flush-log-at-trx-commit=2 --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci </dev/null >>"$STATE/mariadb.log" 2>&1 9>&- &
    local pid=$! i
    for ((i = 0; i < 300; i++)); do
        db_up && break
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$STATE/mariadb.log" >&2; die "mariadbd exited"; }
        sleep 0.1
    done
    db_up || die "MariaDB did not come up in 30 s (see $STATE/mariadb.log)"
    echo "$pid" >"$DB_PIDFILE"
}

setup_db() {
    sql <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
SQL
}

# ----------------------------------------------------------------------------------- WordPress
# is_ours FILE MARK: FILE's second line is MARK (the first is "<?php")
is_ours() { [[ "$(sed -n 2p "$1" 2>/dev/null)" == "$2" ]]; }

# Never overwrite a config file someone else wrote (however unlikely its name is).
refuse_foreign_config() {
    [[ ! -e $WP_CONFIG ]] || is_ours "$WP_CONFIG" "$CONFIG_MARK" ||
        die "$WP_CONFIG was not written by this script; move it away or set WP_STATE_DIR"
}

write_wp_config() {
    mkdir -p /etc/wordpress
    cat >"$WP_CONFIG.tmp" <<PHP
<?php
$CONFIG_MARK
define('DB_NAME', '$DB_NAME');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$DB_PASSWORD');
define('DB_HOST', 'localhost:$SOCK');
define('DB_CHARSET', 'utf8mb4');
define('WP_HOME', '$URL');
define('WP_SITEURL', '$URL');
define('WP_CONTENT_URL', '$URL/wp-content');
define('WP_CONTENT_DIR', '$WP_CONTENT');
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_DEBUG', false);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', false);
define('FS_METHOD', 'direct');
PHP
    mv -f "$WP_CONFIG.tmp" "$WP_CONFIG"
    if is_ours "$LEGACY_CONFIG" "$LEGACY_MARK"; then
        log "removing $LEGACY_CONFIG (written by an earlier version of this script)"
        rm -f "$LEGACY_CONFIG"
    fi
}

# This site's wp-content: the Debian themes/plugins/languages, and uploads of its own (so a
# `reset` here never deletes another site's media).
make_content_dir() {
    mkdir -p "$UPLOADS"
    local d
    for d in themes plugins languages; do ln -sfn "$DEBIAN_CONTENT/$d" "$WP_CONTENT/$d"; done
}

write_router() {
    {
        cat <<PHP
<?php
// Router for \`php -S ... -t /usr/share/wordpress router.php\` (generated by scripts/wordpress.sh).
// - every request reads this site's config: Debian's wp-config.php loads
//   /etc/wordpress/config-\$_SERVER['WORDPRESS_CONFIG'].php (this assignment persists into
//   scripts the built-in server runs itself after \`return false\`); if that file is gone,
//   answer 503 rather than let wp-config.php fall back to another site's config-default.php;
// - /wp-content/* is served from this site's WP_CONTENT_DIR (whose themes/plugins/languages are
//   symlinks to Debian's), then from /usr/share/wordpress/wp-content;
// - existing files under the docroot are left to the built-in server (static files, *.php);
// - everything else goes to index.php (pretty permalinks, /wp-json/...).
\$_SERVER['WORDPRESS_CONFIG'] = '$CONFIG_NAME';
\$config = '$WP_CONFIG';
\$content = '$WP_CONTENT';
PHP
        cat <<'PHP'
if (!is_file($config)) {
    http_response_code(503);
    header('Content-Type: text/plain');
    echo "$config is missing: run scripts/wordpress.sh start\n";
    return true;
}
$root = '/usr/share/wordpress';
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');
if (str_contains($path, "\0") || preg_match('#(^|/)\.\.(/|$)#', $path)) {
    http_response_code(400);
    return true;
}
if (str_starts_with($path, '/wp-content/')) {
    $rel = substr($path, strlen('/wp-content'));
    foreach ([$content, $root . '/wp-content'] as $base) {
        $file = $base . $rel;
        if (!is_file($file)) {
            continue;
        }
        if (str_ends_with($file, '.php')) {
            if (str_starts_with($rel, '/uploads/')) {
                http_response_code(403);
                return true;
            }
            $_SERVER['SCRIPT_FILENAME'] = $file;
            $_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = $path;
            chdir(dirname($file));
            require $file;
            return true;
        }
        $types = [
            'png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg',
            'gif' => 'image/gif', 'webp' => 'image/webp', 'avif' => 'image/avif',
            'svg' => 'image/svg+xml', 'ico' => 'image/x-icon', 'css' => 'text/css',
            'js' => 'text/javascript', 'json' => 'application/json', 'txt' => 'text/plain',
            'html' => 'text/html', 'xml' => 'application/xml', 'pdf' => 'application/pdf',
            'mp4' => 'video/mp4', 'webm' => 'video/webm', 'mp3' => 'audio/mpeg',
            'woff' => 'font/woff', 'woff2' => 'font/woff2', 'ttf' => 'font/ttf',
        ];
        $ext = strtolower(pathinfo($file, PATHINFO_EXTENSION));
        $type = $types[$ext] ?? (function_exists('mime_content_type')
            ? (mime_content_type($file) ?: 'application/octet-stream') : 'application/octet-stream');
        header('Content-Type: ' . $type);
        header('Content-Length: ' . filesize($file));
        header('Last-Modified: ' . gmdate('D, d M Y H:i:s', filemtime($file)) . ' GMT');
        if ($_SERVER['REQUEST_METHOD'] !== 'HEAD') {
            readfile($file);
        }
        return true;
    }
} else {
    $file = $root . $path;
    if ($path !== '/' && is_file($file)) {
        return false;
    }
    if (is_dir($file) && is_file(rtrim($file, '/') . '/index.php')) {
        return false;
    }
}
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/index.php';
chdir($root);
require $root . '/index.php';
return true;
PHP
    } >"$STATE/router.php"
}

write_setup_php() {
    cat >"$STATE/setup.php" <<'PHP'
<?php
// Installs the site if needed, sets permalinks, ensures a working application password.
// Env: WP_HOSTPORT, WORDPRESS_CONFIG, ADMIN_USER, ADMIN_PASSWORD, APP_PASSWORD (may be empty),
// APP_PASSWORD_NAME.
// Prints JSON {"fresh": bool, "app_password": str, "wp_version": str}.
error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');
$_SERVER['HTTP_HOST'] = getenv('WP_HOSTPORT');
$_SERVER['WORDPRESS_CONFIG'] = getenv('WORDPRESS_CONFIG');
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$user_login = getenv('ADMIN_USER');
$admin_password = getenv('ADMIN_PASSWORD');
$fresh = false;
if (!is_blog_installed()) {
    $r = wp_install('Pipeline Test Site', $user_login, 'admin@example.com', false, '',
        wp_slash($admin_password), 'en_US');
    if (is_wp_error($r)) {
        fwrite(STDERR, $r->get_error_message() . "\n");
        exit(1);
    }
    $fresh = true;
    update_option('timezone_string', 'UTC');
    update_option('gmt_offset', 0);
}
$user = get_user_by('login', $user_login);
if (!$user) {
    fwrite(STDERR, "user $user_login missing\n");
    exit(1);
}
if (!wp_check_password($admin_password, $user->user_pass, $user->ID)) {
    wp_set_password($admin_password, $user->ID);
}
if (get_option('permalink_structure') !== '/%postname%/') {
    update_option('permalink_structure', '/%postname%/');
    delete_option('rewrite_rules'); // regenerated on the next request
}

$app = preg_replace('/[^a-z\d]/i', '', (string) getenv('APP_PASSWORD'));
$name = getenv('APP_PASSWORD_NAME');
$ok = false;
foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
    if ($app !== '' && $item['name'] === $name && wp_check_password($app, $item['password'])) {
        $ok = true;
    }
}
if (!$ok) {
    foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
        if ($item['name'] === $name) {
            WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
        }
    }
    $created = WP_Application_Passwords::create_new_application_password(
        $user->ID, ['name' => $name]);
    if (is_wp_error($created)) {
        fwrite(STDERR, $created->get_error_message() . "\n");
        exit(1);
    }
    $app = $created[0];
}
global $wp_version;
echo json_encode(['fresh' => $fresh, 'app_password' => $app, 'wp_version' => $wp_version]);
PHP
}

setup_site() {
    write_setup_php
    local out
    out="$(WP_HOSTPORT="$HOST:$PORT" WORDPRESS_CONFIG="$CONFIG_NAME" ADMIN_USER="$ADMIN_USER" \
        ADMIN_PASSWORD="$ADMIN_PASSWORD" APP_PASSWORD="$APP_PASSWORD" APP_PASSWORD_NAME="$APP_PASSWORD_NAME" \
        php -d display_errors=stderr -d log_errors=0 "$STATE/setup.php" 2>>"$STATE/setup.log")" ||
        { tail -n 30 "$STATE/setup.log" >&2; die "WordPress setup failed (see $STATE/setup.log)"; }
    local fresh
    fresh="$(php -r '$j = json_decode($argv[1], true); echo $j["fresh"] ? 1 : 0;' "$out")"
    APP_PASSWORD="$(php -r '$j = json_decode($argv[1], true); echo $j["app_password"];' "$out")"
    WP_VERSION="$(php -r '$j = json_decode($argv[1], true); echo $j["wp_version"];' "$out")"
    [[ -n $APP_PASSWORD ]] || die "no application password"
    save_secrets
    if [[ $fresh == 1 ]]; then
        log "WordPress $WP_VERSION installed; removing the default content"
        do_reset
    fi
}

# ---------------------------------------------------------------------------------------- PHP
stop_php() {
    if pid_alive "$PHP_PIDFILE"; then
        local pid i
        pid="$(cat "$PHP_PIDFILE")"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$PHP_PIDFILE"
}

start_php() {
    stop_php
    local code
    code="$(http_code "$URL/" 2)"
    [[ $code == 000 ]] || die "something else already answers on $URL (HTTP $code); set WP_PORT"
    write_router
    log "starting php -S $HOST:$PORT"
    PHP_CLI_SERVER_WORKERS=4 setsid php \
        -d display_errors=0 -d display_startup_errors=0 -d log_errors=1 \
        -d 'error_reporting=E_ALL & ~E_DEPRECATED' \
        -d memory_limit=512M -d upload_max_filesize=64M -d post_max_size=64M \
        -d opcache.enable_cli=1 -d opcache.validate_timestamps=1 \
        -S "$HOST:$PORT" -t "$WP_DIR" "$STATE/router.php" \
        </dev/null >"$STATE/php.log" 2>&1 9>&- &
    echo $! >"$PHP_PIDFILE"
}

wait_healthy() {
    local i
    for ((i = 0; i < 300; i++)); do
        [[ "$(http_code "$URL/wp-json/" 2)" == 200 ]] && return 0
        pid_alive "$PHP_PIDFILE" || { tail -n 30 "$STATE/php.log" >&2; die "php -S exited"; }
        sleep 0.1
    done
    tail -n 30 "$STATE/php.log" >&2
    die "$URL/wp-json/ did not answer 200 within 30 s"
}

healthy() {
    is_ours "$WP_CONFIG" "$CONFIG_MARK" && pid_alive "$PHP_PIDFILE" &&
        [[ -s $STATE/port && "$(cat "$STATE/port")" == "$PORT" ]] &&
        [[ -n ${APP_PASSWORD:-} ]] && db_up &&
        [[ "$(http_code "$URL/wp-json/" 5)" == 200 ]] &&
        [[ "$(http_code "$URL/wp-json/wp/v2/users/me" 5 -u "$ADMIN_USER:$APP_PASSWORD")" == 200 ]]
}

write_env_json() {
    [[ -n ${WP_VERSION:-} ]] ||
        WP_VERSION="$(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$WP_DIR/wp-includes/version.php")"
    URL="$URL" ADMIN_USER="$ADMIN_USER" APP_PASSWORD="$APP_PASSWORD" \
        ADMIN_PASSWORD="$ADMIN_PASSWORD" PORT="$PORT" PID_PHP="$(cat "$PHP_PIDFILE")" \
        PID_DB="$(cat "$DB_PIDFILE" 2>/dev/null || echo 0)" SOCK="$SOCK" DB_NAME="$DB_NAME" \
        DB_USER="$DB_USER" DB_PASSWORD="$DB_PASSWORD" WP_VERSION="$WP_VERSION" \
        WP_CONTENT="$WP_CONTENT" UPLOADS="$UPLOADS" WP_CONFIG="$WP_CONFIG" \
        php -r '
        $e = fn (string $k): string => (string) getenv($k);
        echo json_encode([
            "url" => $e("URL"), "user" => $e("ADMIN_USER"), "app_password" => $e("APP_PASSWORD"),
            "admin_password" => $e("ADMIN_PASSWORD"), "port" => (int) $e("PORT"),
            "pid_php" => (int) $e("PID_PHP"), "pid_mariadb" => (int) $e("PID_DB"),
            "db_socket" => $e("SOCK"), "db_name" => $e("DB_NAME"), "db_user" => $e("DB_USER"),
            "db_password" => $e("DB_PASSWORD"), "wp_version" => $e("WP_VERSION"),
            "php_version" => PHP_VERSION, "wp_content_dir" => $e("WP_CONTENT"),
            "uploads_dir" => $e("UPLOADS"), "wp_config" => $e("WP_CONFIG"),
        ], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";' >"$ENV_JSON.tmp"
    chmod 600 "$ENV_JSON.tmp"
    mv -f "$ENV_JSON.tmp" "$ENV_JSON"
}

# -------------------------------------------------------------------------------------- start
cmd_start() {
    need_root
    command -v mariadbd >/dev/null && command -v php >/dev/null && [[ -f $WP_DIR/wp-load.php ]] ||
        die "packages missing: run scripts/wordpress.sh install first"
    lock
    refuse_foreign_config
    load_secrets
    if healthy; then
        write_env_json
        log "already running at $URL"
        return 0
    fi
    start_db
    setup_db
    write_wp_config
    make_content_dir
    setup_site
    start_php
    echo "$PORT" >"$STATE/port"
    wait_healthy
    [[ "$(http_code "$URL/wp-json/wp/v2/users/me" 5 -u "$ADMIN_USER:$APP_PASSWORD")" == 200 ]] ||
        die "the application password is rejected by $URL"
    write_env_json
    log "WordPress ${WP_VERSION:-} up at $URL (env: $ENV_JSON)"
}

# -------------------------------------------------------------------------------------- reset
do_reset() {
    sql "$DB_NAME" <<'SQL'
DELETE FROM wp_posts;
DELETE FROM wp_postmeta;
DELETE FROM wp_comments;
DELETE FROM wp_commentmeta;
DELETE FROM wp_term_relationships;
DELETE FROM wp_term_taxonomy WHERE term_id <> 1;
DELETE FROM wp_termmeta WHERE term_id <> 1;
DELETE FROM wp_terms WHERE term_id <> 1;
UPDATE wp_terms SET name = 'Uncategorized', slug = 'uncategorized', term_group = 0
    WHERE term_id = 1;
UPDATE wp_term_taxonomy SET taxonomy = 'category', description = '', parent = 0, count = 0
    WHERE term_id = 1;
DELETE FROM wp_usermeta WHERE user_id <> 1;
DELETE FROM wp_users WHERE ID <> 1;
UPDATE wp_options SET option_value = 'a:0:{}' WHERE option_name = 'sticky_posts';
UPDATE wp_options SET option_value = '0' WHERE option_name IN
    ('page_on_front', 'page_for_posts', 'wp_page_for_privacy_policy', 'site_icon');
UPDATE wp_options SET option_value = '1' WHERE option_name = 'default_category';
UPDATE wp_options SET option_value = 'posts' WHERE option_name = 'show_on_front';
DELETE FROM wp_options WHERE option_name IN ('category_children', 'post_tag_children')
    OR option_name LIKE '\_transient\_%' OR option_name LIKE '\_site\_transient\_%';
SQL
    if [[ -d $UPLOADS ]]; then
        find "$UPLOADS" -mindepth 1 -delete
    fi
}

cmd_reset() {
    need_root
    lock
    db_up || die "MariaDB is not running: run scripts/wordpress.sh start"
    do_reset
}

# --------------------------------------------------------------------------------- stop/status
cmd_stop() {
    need_root
    lock
    stop_php
    if pid_alive "$DB_PIDFILE" || db_up; then
        log "stopping MariaDB"
        local pid i
        pid="$(cat "$DB_PIDFILE" 2>/dev/null || true)"
        mariadb-admin --no-defaults --socket="$SOCK" -uroot shutdown 2>/dev/null ||
            { [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; } || true
        for ((i = 0; i < 300; i++)); do
            [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && die "mariadbd ($pid) did not stop"
    fi
    rm -f "$DB_PIDFILE" "$ENV_JSON" "$STATE/port"
    if is_ours "$WP_CONFIG" "$CONFIG_MARK"; then rm -f "$WP_CONFIG"; fi
    log "stopped"
}

cmd_status() {
    local port="$PORT"
    [[ -s $STATE/port ]] && port="$(cat "$STATE/port")"
    if pid_alive "$PHP_PIDFILE" && [[ "$(http_code "http://$HOST:$port/wp-json/" 5)" == 200 ]]; then
        echo "up: http://$HOST:$port (php pid $(cat "$PHP_PIDFILE"), mariadb $(
            db_up && echo up || echo down))"
        return 0
    fi
    echo "down (php: $(pid_alive "$PHP_PIDFILE" && echo running || echo stopped), mariadb: $(
        db_up && echo up || echo down))"
    return 1
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
reset) cmd_reset ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 {install|start|reset|stop|status}" >&2
    exit 2
    ;;
esac
