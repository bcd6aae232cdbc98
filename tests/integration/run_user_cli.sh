#!/usr/bin/env bash
# `sipreg user ...` and `sipreg bindings` end to end: add/update/list/enable/disable/del, domains,
# the three import formats (and a 10,000-user bench file, timed), all-or-nothing imports, the HA1s
# stored in the SQLite file, its file modes and the warning about loose ones, a schema version 1
# database, the bindings listing.
# Usage: run_user_cli.sh PATH-TO-SIPREG. Needs the sqlite3 CLI and python3 (scripts/deps.sh).
set -euo pipefail

SIPREG=${1:?usage: run_user_cli.sh PATH-TO-SIPREG}
case "$SIPREG" in /*) ;; *) SIPREG="$PWD/$SIPREG" ;; esac
[ -x "$SIPREG" ] || { echo "run_user_cli: $SIPREG is not executable" >&2; exit 1; }
for tool in sqlite3 python3 md5sum sha256sum; do
	command -v "$tool" >/dev/null || { echo "run_user_cli: $tool is missing" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipreg_user_cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
unset SIPREG_DB
DB="$WORK/users.db"
IMPORT_LIMIT_S=20

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}

# run [--in TEXT] ARGS...: runs sipreg, leaving stdout in $out, stderr in $err, status in $rc.
run() {
	local input=""
	if [ "${1:-}" = --in ]; then input=$2; shift 2; fi
	printf '%s' "$input" >"$WORK/stdin"
	set +e
	"$SIPREG" "$@" <"$WORK/stdin" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
	set -e
	out=$(cat "$WORK/stdout")
	err=$(cat "$WORK/stderr")
}

expect_rc() { # NAME WANT
	if [ "$rc" = "$2" ]; then ok "$1"; else not_ok "$1" "exit $rc, want $2" "stdout: $out" "stderr: $err"; fi
}
expect_eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $(printf '%q' "$2")" "want: $(printf '%q' "$3")"; fi
}
expect_has() { # NAME TEXT NEEDLE
	case "$2" in *"$3"*) ok "$1" ;; *) not_ok "$1" "$(printf '%q' "$2")" "does not contain: $3" ;; esac
}
expect_lacks() { # NAME TEXT NEEDLE
	case "$2" in *"$3"*) not_ok "$1" "$(printf '%q' "$2")" "contains: $3" ;; *) ok "$1" ;; esac
}

q() { sqlite3 "$DB" "$1"; } # one SQL query on the test database
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
sha512_256() { python3 -c 'import hashlib,sys; print(hashlib.new("sha512_256", sys.argv[1].encode()).hexdigest())' "$1"; }
ms() { date +%s%3N; }

# ---- help ----
run user --help
expect_rc "user --help exits 0" 0
expect_has "user --help lists the commands" "$out" "add|del|enable|disable|list|import"
for c in add del enable disable list import; do
	run user "$c" --help
	expect_rc "user $c --help exits 0" 0
	expect_has "user $c --help shows its usage" "$out" "usage: sipreg user $c"
done
run bindings --help
expect_rc "bindings --help exits 0" 0
run user
expect_rc "user without a command is a usage error" 2
run user frobnicate
expect_rc "unknown user command is a usage error" 2
expect_has "unknown user command is named" "$err" "frobnicate"

# ---- add, HA1s ----
run --in $'secret\n' user add alice --domain example.com --password-stdin --db "$DB"
expect_rc "add alice" 0
expect_eq "add says added" "$out" "added user alice in realm example.com"
expect_eq "stored MD5 HA1 is H(alice:example.com:secret)" \
	"$(q "SELECT ha1_md5 FROM users WHERE username='alice' AND realm='example.com'")" \
	"$(md5 'alice:example.com:secret')"
expect_eq "stored SHA-256 HA1" "$(q "SELECT ha1_sha256 FROM users WHERE username='alice'")" \
	"$(sha256 'alice:example.com:secret')"
expect_eq "stored SHA-512-256 HA1" "$(q "SELECT ha1_sha512_256 FROM users WHERE username='alice'")" \
	"$(sha512_256 'alice:example.com:secret')"
expect_eq "no password stored anywhere" "$(sqlite3 "$DB" .dump | grep -c secret || true)" "0"
created=$(q "SELECT created_at FROM users WHERE username='alice'")
run user list --db "$DB"
expect_rc "list" 0
expect_eq "list shows alice" "$out" "alice example.com md5,sha-256,sha-512-256 enabled example.com"
expect_eq "--domain is stored as the user's domain" "$(q "SELECT domain FROM users WHERE username='alice'")" "example.com"

# a CRLF line is the same password
run --in $'crlf-pw\r\n' user add crlf --realm example.com --password-stdin --db "$DB"
expect_eq "--password-stdin strips CRLF" "$(q "SELECT ha1_md5 FROM users WHERE username='crlf'")" \
	"$(md5 'crlf:example.com:crlf-pw')"
run user del crlf --realm example.com --db "$DB"

# update: new password, disabled, creation time kept, still one row
sleep 1
run --in $'n3w pass\n' user add alice --domain example.com --password-stdin --disabled --db "$DB"
expect_rc "re-add alice" 0
expect_eq "re-add says updated" "$out" "updated user alice in realm example.com (disabled)"
expect_eq "update replaced the HA1" "$(q "SELECT ha1_md5 FROM users WHERE username='alice'")" \
	"$(md5 'alice:example.com:n3w pass')"
expect_eq "update kept one row" "$(q "SELECT count(*) FROM users")" "1"
expect_eq "update kept created_at" "$(q "SELECT created_at FROM users WHERE username='alice'")" "$created"
run user list --db "$DB"
expect_eq "list shows alice disabled" "$out" "alice example.com md5,sha-256,sha-512-256 disabled example.com"
run user enable alice --domain example.com --db "$DB"
expect_rc "enable alice" 0
run user list --db "$DB"
expect_eq "list shows alice enabled again" "$out" "alice example.com md5,sha-256,sha-512-256 enabled example.com"
expect_eq "enable kept the domain" "$(q "SELECT domain FROM users WHERE username='alice'")" "example.com"
run user disable alice --domain example.com --db "$DB"
expect_eq "disable alice" "$(q "SELECT enabled FROM users WHERE username='alice'")" "0"
expect_eq "disable kept the HA1" "$(q "SELECT ha1_md5 FROM users WHERE username='alice'")" \
	"$(md5 'alice:example.com:n3w pass')"
run user enable nobody --domain example.com --db "$DB"
expect_rc "enable of an unknown user fails" 1
expect_has "enable of an unknown user says so" "$err" "no such user"

# --realm wins over --domain; the list is sorted by realm, then name
run --in $'pw\n' user add bob --domain example.com --realm 'Other Realm' --password-stdin --db "$DB"
expect_eq "--realm overrides --domain" "$(q "SELECT realm FROM users WHERE username='bob'")" "Other Realm"
expect_eq "... and the domain is still --domain" "$(q "SELECT domain FROM users WHERE username='bob'")" "example.com"
for u in zed:a.org amy:a.org ben:b.org; do
	run --in $'pw\n' user add "${u%%:*}" --realm "${u#*:}" --password-stdin --db "$DB"
done
run user list --db "$DB"
expect_eq "list sorted by realm then name" "$out" "bob Other Realm md5,sha-256,sha-512-256 enabled example.com
amy a.org md5,sha-256,sha-512-256 enabled -
zed a.org md5,sha-256,sha-512-256 enabled -
ben b.org md5,sha-256,sha-512-256 enabled -
alice example.com md5,sha-256,sha-512-256 disabled example.com"
run user list --realm a.org --db "$DB"
expect_eq "list --realm filters" "$out" "amy a.org md5,sha-256,sha-512-256 enabled -
zed a.org md5,sha-256,sha-512-256 enabled -"

# ---- domains ----
run --in $'pw\n' user add bob --realm 'Other Realm' --password-stdin --db "$DB"
expect_eq "re-add without --domain keeps the domain" "$(q "SELECT domain FROM users WHERE username='bob'")" "example.com"
run --in $'pw\n' user add dora --domain Sub.Example.ORG --realm 'Dora Realm' --password-stdin --db "$DB"
expect_rc "add with --domain and --realm" 0
expect_eq "the domain is stored lower-cased" "$(q "SELECT domain || '|' || realm FROM users WHERE username='dora'")" "sub.example.org|Dora Realm"
run --in $'pw\n' user add v6 --domain '[2001:DB8::1]' --password-stdin --db "$DB"
expect_eq "an IPv6 reference is a domain" "$(q "SELECT domain FROM users WHERE username='v6'")" "[2001:db8::1]"
run user del v6 --domain '[2001:DB8::1]' --db "$DB"
expect_rc "del by --domain (the realm as given)" 0
for d in 'ex ample.com' 'a"b' 'x/y' '[::1' ''; do
	run --in $'pw\n' user add eve --domain "$d" --password-stdin --db "$DB"
	expect_rc "add --domain '$d' is a usage error" 2
	expect_has "... naming --domain" "$err" "--domain"
done
expect_eq "no user eve" "$(q "SELECT count(*) FROM users WHERE username='eve'")" "0"
run user list --domain example.com --db "$DB"
expect_eq "list --domain: the users of the domain, stored or by realm" "$out" "bob Other Realm md5,sha-256,sha-512-256 enabled example.com
alice example.com md5,sha-256,sha-512-256 disabled example.com"
run user list --domain A.ORG --db "$DB"
expect_eq "list --domain: no stored domain means the realm's, case-insensitively" "$out" "amy a.org md5,sha-256,sha-512-256 enabled -
zed a.org md5,sha-256,sha-512-256 enabled -"
run user list --domain sub.example.org --realm 'Dora Realm' --db "$DB"
expect_eq "list --domain --realm: both" "$out" "dora Dora Realm md5,sha-256,sha-512-256 enabled sub.example.org"
run user del dora --realm 'Dora Realm' --db "$DB"

# ---- del ----
run user del zed --realm a.org --db "$DB"
expect_rc "del zed" 0
expect_eq "del says deleted" "$out" "deleted user zed in realm a.org"
expect_eq "zed is gone" "$(q "SELECT count(*) FROM users WHERE username='zed'")" "0"
run user del zed --realm a.org --db "$DB"
expect_rc "del of an unknown user fails" 1
expect_has "del of an unknown user says so" "$err" "no such user"
run user del amy --realm b.org --db "$DB"
expect_rc "del in the wrong realm fails" 1
expect_eq "amy still there" "$(q "SELECT count(*) FROM users WHERE username='amy'")" "1"

# ---- usage and input errors ----
n_before=$(q "SELECT count(*) FROM users")
run --in $'pw\n' user add carol --password-stdin --db "$DB"
expect_rc "add without a realm is a usage error" 2
expect_has "missing realm names the flags" "$err" "--realm or --domain"
run --in $'pw\n' user add carol --domain example.com --db "$DB"
expect_rc "add from a non-terminal without --password-stdin is refused" 2
expect_has "... and says use --password-stdin" "$err" "use --password-stdin"
run --in $'\n' user add carol --domain example.com --password-stdin --db "$DB"
expect_rc "empty password is refused" 1
expect_has "empty password error" "$err" "empty password"
run --in '' user add carol --domain example.com --password-stdin --db "$DB"
expect_rc "no input at all is refused" 1
run --in $'pw\n' user add 'car ol' --domain example.com --password-stdin --db "$DB"
expect_rc "a NAME with a space is refused" 2
expect_has "bad NAME is named" "$err" "bad NAME 'car ol'"
run --in $'pw\n' user add carol --realm 'a"b' --password-stdin --db "$DB"
expect_rc "a realm with a quote is refused" 2
expect_has "bad realm names the flag" "$err" "--realm"
run --in $'pw\n' user add carol --domain example.com --password-stdin --bogus --db "$DB"
expect_rc "unknown option is a usage error" 2
expect_has "unknown option is named" "$err" "--bogus"
run user add --domain example.com --db "$DB"
expect_rc "add without NAME is a usage error" 2
expect_has "missing NAME is named" "$err" "missing NAME"
run user list --db
expect_rc "--db without a value is a usage error" 2
expect_has "--db without a value names it" "$err" "--db"
run user list --store memory --db "$DB"
expect_rc "--store is rejected" 2
run user list extra --db "$DB"
expect_rc "list with an argument is a usage error" 2
expect_eq "no user added by the failures" "$(q "SELECT count(*) FROM users")" "$n_before"
echo "not a database at all" >"$WORK/junk.db"
run user list --db "$WORK/junk.db"
expect_rc "a file that is not a sipreg database is a runtime error" 1
expect_has "... naming the file" "$err" "junk.db"

# ---- the default database: $SIPREG_DB, else ./sipreg.db ----
mkdir "$WORK/cwd"
(cd "$WORK/cwd" && printf 'pw\n' | "$SIPREG" user add dflt --domain d.test --password-stdin >/dev/null)
expect_eq "default db is ./sipreg.db" "$(sqlite3 "$WORK/cwd/sipreg.db" "SELECT username FROM users")" "dflt"
SIPREG_DB="$WORK/env.db" run user list
expect_rc "list of an empty \$SIPREG_DB" 0
expect_eq "\$SIPREG_DB is used" "$([ -f "$WORK/env.db" ] && echo yes)" "yes"

# ---- file modes: the database holds HA1s ----
mode() { stat -c %a "$1" 2>&1; }
# SQLite removes -wal and -shm when the last connection closes: hold_open DB writes through a
# connection it keeps open (until release), so that they can be looked at.
hold_open() {
	rm -f "$WORK/held"
	python3 - "$1" "$WORK/held" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO meta VALUES('test.held', x'00')")  # a write: the -wal is not empty
c.execute("DELETE FROM meta WHERE k = 'test.held'")
c.commit()
open(sys.argv[2], "w").close()
time.sleep(60)
PY
	holder=$!
	for _ in $(seq 100); do [ -e "$WORK/held" ] && break; sleep 0.1; done
}
release() { kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; }

MDB="$WORK/modes/m.db"
(umask 022 && printf 'pw\n' | "$SIPREG" user add mo --domain example.com --password-stdin --db "$MDB" >/dev/null)
expect_eq "a new database is 0600 under umask 022" "$(mode "$MDB")" "600"
hold_open "$MDB"
(umask 022 && printf 'pw\n' | "$SIPREG" user add mo2 --domain example.com --password-stdin --db "$MDB" >/dev/null)
expect_eq "-wal after a write is 0600" "$(mode "$MDB-wal")" "600"
expect_eq "-shm after a write is 0600" "$(mode "$MDB-shm")" "600"
release
run user list --db "$MDB"
expect_lacks "no warning for a 0600 database" "$err" "warning"

chmod 644 "$MDB"
run user list --db "$MDB"
expect_rc "a 0644 database still opens" 0
expect_has "user list warns about a 0644 database, naming it" "$err" \
	"sipreg: warning: $MDB is readable by group/others (mode 0644)"
expect_has "... and says how to fix it" "$err" "chmod 600 $MDB"
expect_eq "the warning goes to stderr only" "$out" "mo example.com md5,sha-256,sha-512-256 enabled example.com
mo2 example.com md5,sha-256,sha-512-256 enabled example.com"
run --in $'pw\n' user add mo3 --domain example.com --password-stdin --db "$MDB"
expect_has "user add warns too" "$err" "warning: $MDB is readable"
run user disable mo3 --domain example.com --db "$MDB"
expect_has "user disable warns too" "$err" "warning: $MDB is readable"
run user enable mo3 --domain example.com --db "$MDB"
expect_has "user enable warns too" "$err" "warning: $MDB is readable"
run user del mo3 --domain example.com --db "$MDB"
expect_has "user del warns too" "$err" "warning: $MDB is readable"
run --in $'mo4 pw\n' user import - --domain example.com --db "$MDB"
expect_has "user import warns too" "$err" "warning: $MDB is readable"
run bindings --db "$MDB"
expect_has "bindings warns too" "$err" "warning: $MDB is readable"
# -wal and -shm made while the database was 0644 stay so after a chmod of the database alone
hold_open "$MDB"
chmod 600 "$MDB"
run user list --db "$MDB"
release
expect_has "a -wal readable by others is named" "$err" "warning: $MDB-wal is readable by group/others (mode 0644)"
expect_has "a -shm readable by others is named" "$err" "warning: $MDB-shm is readable by group/others (mode 0644)"
expect_lacks "... and the 0600 database is not" "$err" "warning: $MDB is"

# ---- a database of schema version 1 (before users had domains) ----
V1="$WORK/v1.db"
sqlite3 "$V1" "CREATE TABLE bindings(aor TEXT NOT NULL, key TEXT NOT NULL, contact TEXT NOT NULL,
	expires_at INTEGER NOT NULL, q INTEGER NOT NULL, call_id TEXT NOT NULL, cseq INTEGER NOT NULL,
	source TEXT, transport TEXT, path TEXT, instance TEXT, reg_id INTEGER NOT NULL, user_agent TEXT,
	registered_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY(aor, key));
	CREATE INDEX bindings_expires_at ON bindings(expires_at);
	CREATE TABLE users(username TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT, ha1_sha256 TEXT,
	ha1_sha512_256 TEXT, enabled INTEGER NOT NULL, created_at INTEGER NOT NULL,
	PRIMARY KEY(username, realm));
	CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);
	PRAGMA application_id = 1397772871; PRAGMA user_version = 1;
	INSERT INTO users VALUES('old', 'example.com', '$(md5 'old:example.com:pw')', NULL, NULL, 1, 5);"
chmod 600 "$V1"
run user list --db "$V1"
expect_rc "a version 1 database opens" 0
expect_eq "its user is listed, without a domain" "$out" "old example.com md5 enabled -"
expect_eq "it was migrated to the current version (3)" "$(sqlite3 "$V1" "PRAGMA user_version")" "3"
run --in $'pw\n' user add old --domain example.com --password-stdin --db "$V1"
expect_eq "a migrated user takes a domain" "$(sqlite3 "$V1" "SELECT domain || '|' || created_at FROM users")" "example.com|5"

# ---- password typed at a terminal (needs script(1) for a pseudo-terminal) ----
if command -v script >/dev/null && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	ttyrun() { # PW1 PW2 NAME: types PW1 and PW2 at the prompts of `user add NAME`
		{ sleep 0.5; printf '%s\n' "$1"; sleep 0.3; printf '%s\n' "$2"; sleep 1; } |
			script -qec "'$SIPREG' user add '$3' --domain example.com --db '$DB'; echo \"rc=\$?\"" /dev/null
	}
	tout=$(ttyrun 'tty secret' 'tty secret' tina | tr -d '\r')
	expect_has "terminal prompt: added" "$tout" "added user tina in realm example.com"
	expect_has "terminal prompt: exit 0" "$tout" "rc=0"
	expect_eq "terminal prompt: HA1 of the typed password" \
		"$(q "SELECT ha1_md5 FROM users WHERE username='tina'")" "$(md5 'tina:example.com:tty secret')"
	tout=$(ttyrun 'one' 'two' tom | tr -d '\r')
	expect_has "terminal prompt: mismatch refused" "$tout" "do not match"
	expect_has "terminal prompt: mismatch exits 1" "$tout" "rc=1"
	expect_eq "terminal prompt: nothing stored on mismatch" "$(q "SELECT count(*) FROM users WHERE username='tom'")" "0"
else
	echo "# script(1) or a pseudo-terminal is unavailable: terminal prompt not tested"
fi

# ---- import: the bench's whitespace format, 10,000 users, timed ----
IDB="$WORK/import.db"
awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "user%05d pass-user%05d\n", i, i }' >"$WORK/bench_users.txt"
t0=$(ms)
run user import "$WORK/bench_users.txt" --realm bench.local --db "$IDB"
t1=$(ms)
expect_rc "import 10000 users" 0
expect_eq "import reports the count" "$out" "imported 10000 users (10000 new, 0 updated)"
expect_eq "10000 rows" "$(sqlite3 "$IDB" "SELECT count(*) FROM users WHERE realm='bench.local'")" "10000"
expect_eq "imported HA1 of user00042" \
	"$(sqlite3 "$IDB" "SELECT ha1_md5 FROM users WHERE username='user00042'")" \
	"$(md5 'user00042:bench.local:pass-user00042')"
expect_eq "imported SHA-256 HA1 of user10000" \
	"$(sqlite3 "$IDB" "SELECT ha1_sha256 FROM users WHERE username='user10000'")" \
	"$(sha256 'user10000:bench.local:pass-user10000')"
echo "# import of 10000 users took $((t1 - t0)) ms"
if [ $((t1 - t0)) -lt $((IMPORT_LIMIT_S * 1000)) ]; then ok "import of 10000 users under ${IMPORT_LIMIT_S} s"
else not_ok "import of 10000 users under ${IMPORT_LIMIT_S} s" "took $((t1 - t0)) ms"; fi
expect_eq "import without --domain stores none" "$(sqlite3 "$IDB" "SELECT count(*) FROM users WHERE domain IS NOT NULL")" "0"
run user import "$WORK/bench_users.txt" --domain bench.local --db "$IDB"
expect_eq "re-import updates" "$out" "imported 10000 users (0 new, 10000 updated)"
expect_eq "re-import keeps 10000 rows" "$(sqlite3 "$IDB" "SELECT count(*) FROM users")" "10000"
expect_eq "import --domain gives every user the domain" \
	"$(sqlite3 "$IDB" "SELECT count(*) FROM users WHERE domain = 'bench.local'")" "10000"
run user import "$WORK/bench_users.txt" --realm bench.local --db "$IDB"
expect_eq "re-import without --domain keeps the domains" \
	"$(sqlite3 "$IDB" "SELECT count(*) FROM users WHERE domain = 'bench.local'")" "10000"

# ---- import: CSV (quotes, per-line realm, BOM, CRLF) ----
printf '\xef\xbb\xbf# name,password[,realm]\r\ncsv1,pw1\r\n "csv2" , "p,w ""2"" " , other.org\r\n\r\ncsv3,pw3,\r\n' >"$WORK/users.csv"
run user import "$WORK/users.csv" --domain example.com --db "$DB"
expect_rc "import CSV" 0
expect_eq "CSV count" "$out" "imported 3 users (3 new, 0 updated)"
expect_eq "CSV plain line" "$(q "SELECT ha1_md5 FROM users WHERE username='csv1' AND realm='example.com'")" \
	"$(md5 'csv1:example.com:pw1')"
expect_eq "CSV quoted fields, realm from the third field" \
	"$(q "SELECT ha1_md5 FROM users WHERE username='csv2' AND realm='other.org'")" \
	"$(md5 'csv2:other.org:p,w "2" ')"
expect_eq "CSV empty third field takes --domain" "$(q "SELECT realm FROM users WHERE username='csv3'")" "example.com"
expect_eq "CSV: --domain is every user's domain" "$(q "SELECT group_concat(domain) FROM users WHERE username LIKE 'csv_'")" "example.com,example.com,example.com"
printf 'csv4,pw4,Csv Realm,Csv.Example\ncsv5,pw5,,\ncsv6,pw6\n' >"$WORK/domains.csv"
run user import "$WORK/domains.csv" --domain example.net --db "$DB"
expect_rc "import CSV with a domain column" 0
expect_eq "CSV fourth field is the domain, lower-cased" "$(q "SELECT realm || '|' || domain FROM users WHERE username='csv4'")" "Csv Realm|csv.example"
expect_eq "CSV empty fourth field takes --domain" "$(q "SELECT realm || '|' || domain FROM users WHERE username='csv5'")" "example.net|example.net"
expect_eq "CSV without a fourth field takes --domain" "$(q "SELECT domain FROM users WHERE username='csv6'")" "example.net"
printf 'csv7,pw7,r,bad domain\n' >"$WORK/baddomain.csv"
run user import "$WORK/baddomain.csv" --db "$DB"
expect_rc "a bad domain fails the import" 1
expect_has "bad domain reported" "$err" "baddomain.csv:1: bad domain 'bad domain'"

# ---- import: Apache htdigest (MD5 only; the line's realm wins) ----
ha=$(md5 'web:Web Realm:webpw')
printf 'web:Web Realm:%s\nweb2:example.com:%s\n' "${ha^^}" "$(md5 'web2:example.com:x')" >"$WORK/htdigest"
run user import "$WORK/htdigest" --realm ignored.example --db "$DB"
expect_rc "import htdigest" 0
expect_eq "htdigest HA1 stored as is, lower-cased" \
	"$(q "SELECT ha1_md5 FROM users WHERE username='web' AND realm='Web Realm'")" "$ha"
expect_eq "htdigest: only MD5" "$(q "SELECT ha1_sha256 IS NULL AND ha1_sha512_256 IS NULL FROM users WHERE username='web'")" "1"
expect_eq "htdigest: the flag's realm is not used" "$(q "SELECT count(*) FROM users WHERE realm='ignored.example'")" "0"
run user list --realm 'Web Realm' --db "$DB"
expect_eq "list shows md5 only" "$out" "web Web Realm md5 enabled -"
run user import "$WORK/htdigest" --db "$DB"
expect_rc "htdigest needs no realm flag" 0
run user import "$WORK/htdigest" --domain web.example --db "$DB"
expect_eq "htdigest with --domain: the line's realm, the flag's domain" \
	"$(q "SELECT realm || '|' || domain FROM users WHERE username='web'")" "Web Realm|web.example"

# ---- import: malformed files import nothing ----
n_before=$(q "SELECT count(*) FROM users")
printf 'good1 pw\n# fine\nbad line here\ngood2,pw\n' >"$WORK/bad1.txt"
run user import "$WORK/bad1.txt" --domain example.com --db "$DB"
expect_rc "malformed line fails the import" 1
expect_has "error names FILE:LINE" "$err" "bad1.txt:3:"
expect_has "error says nothing imported" "$err" "nothing imported"
printf 'h1:r:%s\nh2:r:nothex\nc1,\n"open,pw\nctl,pw,re\001alm\n' "$ha" >"$WORK/bad2.txt"
run user import "$WORK/bad2.txt" --domain example.com --db "$DB"
expect_rc "bad htdigest and CSV lines fail" 1
expect_has "bad HA1 reported" "$err" "bad2.txt:2: the HA1 is not 32 hex digits"
expect_has "empty CSV password reported" "$err" "bad2.txt:3: empty password"
expect_has "unterminated quote reported" "$err" "bad2.txt:4: unterminated quoted field"
expect_has "control character shown escaped" "$err" "bad2.txt:5: bad realm 're\\x01alm'"
printf 'dup pw1\nother pw\ndup pw2\n' >"$WORK/dup.txt"
run user import "$WORK/dup.txt" --domain example.com --db "$DB"
expect_rc "duplicate user fails" 1
expect_has "duplicate reported with both lines" "$err" "dup.txt:3: user 'dup' in realm 'example.com' is also on line 1"
printf 'norealm pw\n' >"$WORK/norealm.txt"
run user import "$WORK/norealm.txt" --db "$DB"
expect_rc "a line without a realm and no flag fails" 1
expect_has "no realm reported" "$err" "norealm.txt:1: no realm"
run user import "$WORK/does-not-exist" --domain example.com --db "$DB"
expect_rc "missing file is a runtime error" 1
expect_has "missing file is named" "$err" "does-not-exist"
expect_eq "failed imports wrote nothing" "$(q "SELECT count(*) FROM users")" "$n_before"
run --in $'stdin1 pw\n' user import - --domain example.com --db "$DB"
expect_eq "import - reads stdin" "$out" "imported 1 users (1 new, 0 updated)"

# ---- bindings ----
HEADER="AOR  CONTACT  EXPIRES  Q  SOURCE  USER-AGENT  INSTANCE"
EDB="$WORK/empty.db"
run bindings --db "$EDB"
expect_rc "bindings on an empty db" 0
expect_eq "bindings on an empty db prints just the header" "$out" "$HEADER"
run bindings --json --db "$EDB"
expect_eq "bindings --json on an empty db" "$out" "[]"
run bindings alice@example.com --db "$EDB"
expect_eq "bindings AOR on an empty db prints the header" "$out" "$HEADER"
run bindings not-an-aor --db "$EDB"
expect_rc "bindings with a bad AOR is a usage error" 2
expect_has "bad AOR is named" "$err" "not-an-aor"
run bindings --frob --db "$EDB"
expect_rc "bindings unknown option" 2

# rows as the registrar writes them (key "sip:user@host", host lower-cased)
now=$(date +%s)
sqlite3 "$EDB" "INSERT INTO bindings(aor, key, contact, expires_at, q, call_id, cseq, source,
	transport, path, instance, reg_id, user_agent, registered_at, updated_at) VALUES
	('sip:alice@example.com', 'k1', 'sip:alice@192.0.2.4:5060', $((now + 600)), 500, 'c1', 1,
	 'udp:192.0.2.4:5060', 'udp', '', NULL, -1, 'Phone' || char(27) || '[2J', $now, $now),
	('sip:alice@example.com', 'k2', 'sip:alice@192.0.2.5', $((now + 900)), -1, 'c2', 1,
	 'udp:192.0.2.5:5060', 'udp', '', '<urn:uuid:00000000-0000-0000-0000-000000000001>', 1,
	 NULL, $((now + 1)), $now),
	('sip:bob@example.com', 'k3', 'sip:bob@192.0.2.6', $((now - 10)), -1, 'c3', 1,
	 'udp:192.0.2.6:5060', 'udp', '', NULL, -1, NULL, $now, $now)"
run bindings --db "$EDB"
expect_rc "bindings lists" 0
expect_eq "bindings: header and the two unexpired rows" "$(printf '%s\n' "$out" | wc -l)" "3"
expect_has "bindings: the contact" "$out" "sip:alice@192.0.2.4:5060"
expect_has "bindings: q" "$out" "0.500"
expect_has "bindings: the instance" "$out" "<urn:uuid:00000000-0000-0000-0000-000000000001>"
expect_has "bindings: control characters escaped" "$out" 'Phone\x1b[2J'
expect_lacks "bindings: no raw escape byte" "$out" $'\e'
expect_lacks "bindings: expired binding hidden" "$out" "sip:bob@192.0.2.6"
left=$(printf '%s\n' "$out" | awk '$2 == "sip:alice@192.0.2.4:5060" { print $3 }')
if [ -n "$left" ] && [ "$left" -le 600 ] && [ "$left" -ge 590 ]; then ok "bindings: seconds left ($left)"
else not_ok "bindings: seconds left" "got '$left', want 590..600"; fi
run bindings 'SIP:alice@EXAMPLE.com:5060' --db "$EDB"
expect_eq "bindings AOR: scheme and host case normalised, port dropped" "$(printf '%s\n' "$out" | wc -l)" "3"
run bindings alice@example.com --json --db "$EDB"
expect_has "bindings --json: contact" "$out" '"contact": "sip:alice@192.0.2.4:5060"'
expect_has "bindings --json: escaped user agent" "$out" '"user_agent": "Phone\u001b[2J"'
expect_has "bindings --json: q" "$out" '"q": 0.500'
if printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) == 2, d'; then
	ok "bindings --json parses as JSON with two entries"
else not_ok "bindings --json parses as JSON with two entries" "$out"; fi
run bindings bob@example.com --db "$EDB"
expect_eq "bindings of an AOR with only expired bindings" "$out" "$HEADER"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
