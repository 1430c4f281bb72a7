#!/usr/bin/env bash
# Makes a local development CA and a server certificate signed by it, for vigrelay on this machine.
#
#   certs/make-dev-cert.sh [--force] [DIR]
#
# DIR defaults to certs/dev next to this script. It receives:
#   ca.crt       the local CA certificate: give it to clients (vigrelay-client --ca, browsers, tests)
#   ca.key       the CA's private key (mode 0600), kept so the server certificate can be remade
#   server.crt   the server certificate for DNS:localhost, IP:127.0.0.1, IP:::1 (serverAuth, ~825 days)
#   server.key   its private key (mode 0600)
#
# Idempotent: if DIR/server.crt and DIR/server.key exist, match, are not about to expire and (when
# ca.crt is there) verify against ca.crt, nothing is done. --force remakes the CA and the certificate.
# Development only: never commit these files (the repository's .gitignore excludes certs/dev/).
set -euo pipefail

usage() {
    echo "usage: $0 [--force] [DIR]   (DIR defaults to certs/dev in the repository)" >&2
}

force=0
dir=""
for arg in "$@"; do
    case "$arg" in
        --force|-f) force=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "make-dev-cert: unknown option $arg" >&2; usage; exit 64 ;;
        *)
            if [[ -n "$dir" ]]; then
                echo "make-dev-cert: only one DIR may be given" >&2; usage; exit 64
            fi
            dir="$arg" ;;
    esac
done

if ! command -v openssl >/dev/null 2>&1; then
    echo "make-dev-cert: openssl is not installed (Debian: apt-get install openssl)" >&2
    exit 69
fi

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
if [[ -z "$dir" ]]; then
    dir="$repo_root/certs/dev"
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

ca_crt="$dir/ca.crt"
ca_key="$dir/ca.key"
srv_crt="$dir/server.crt"
srv_key="$dir/server.key"

# Seconds a certificate must still be valid for us to keep it.
min_remaining=$((7 * 24 * 3600))

# cert_matches_key CERT KEY: the certificate carries the key's public half.
cert_matches_key() {
    local cert_pub key_pub
    cert_pub="$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" || return 1
    key_pub="$(openssl pkey -in "$2" -pubout 2>/dev/null)" || return 1
    [[ -n "$cert_pub" && "$cert_pub" == "$key_pub" ]]
}

# cert_fresh CERT: parses and does not expire within min_remaining seconds.
cert_fresh() {
    openssl x509 -in "$1" -noout -checkend "$min_remaining" >/dev/null 2>&1
}

server_valid() {
    [[ -s "$srv_crt" && -s "$srv_key" ]] || return 1
    cert_fresh "$srv_crt" || return 1
    cert_matches_key "$srv_crt" "$srv_key" || return 1
    if [[ -s "$ca_crt" ]]; then
        openssl verify -CAfile "$ca_crt" -purpose sslserver "$srv_crt" >/dev/null 2>&1 || return 1
    fi
    return 0
}

ca_valid() {
    [[ -s "$ca_crt" && -s "$ca_key" ]] || return 1
    cert_fresh "$ca_crt" || return 1
    cert_matches_key "$ca_crt" "$ca_key" || return 1
}

if [[ $force -eq 0 ]] && server_valid; then
    echo "make-dev-cert: $srv_crt and $srv_key already exist and are valid; nothing to do (--force remakes them)."
    echo "  expires: $(openssl x509 -in "$srv_crt" -noout -enddate | cut -d= -f2)"
    exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/make-dev-cert.XXXXXX")"
trap 'rm -rf "$work"' EXIT

random_serial() { echo "0x$(openssl rand -hex 16)"; }

new_ec_key() {
    # $1: destination. Created under umask 077, so the key is never readable by others.
    ( umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null )
    chmod 0600 "$1"
}

made=()

if [[ $force -eq 1 ]] || ! ca_valid; then
    cat >"$work/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = vigrelay development
CN = vigrelay local development CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
# Whoever reads ca.key can sign only for this machine: a browser that trusts this CA trusts it for
# nothing else.
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
EOF
    new_ec_key "$work/ca.key"
    openssl req -new -x509 -config "$work/ca.cnf" -key "$work/ca.key" -sha256 -days 3650 \
        -set_serial "$(random_serial)" -out "$work/ca.crt"
    mv -f "$work/ca.key" "$ca_key"
    mv -f "$work/ca.crt" "$ca_crt"
    chmod 0600 "$ca_key"
    chmod 0644 "$ca_crt"
    made+=("$ca_crt (local CA certificate: give this to clients)" "$ca_key (CA private key, mode 0600)")
else
    echo "make-dev-cert: reusing the existing CA $ca_crt"
fi

cat >"$work/server.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
O = vigrelay development
CN = localhost
EOF
cat >"$work/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
new_ec_key "$work/server.key"
openssl req -new -config "$work/server.cnf" -key "$work/server.key" -sha256 -out "$work/server.csr"
openssl x509 -req -in "$work/server.csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -set_serial "$(random_serial)" -days 825 -sha256 -extfile "$work/server.ext" \
    -out "$work/server.crt" 2>/dev/null
openssl verify -CAfile "$ca_crt" -purpose sslserver "$work/server.crt" >/dev/null
mv -f "$work/server.key" "$srv_key"
mv -f "$work/server.crt" "$srv_crt"
chmod 0600 "$srv_key"
chmod 0644 "$srv_crt"
made+=("$srv_crt (server certificate for localhost, 127.0.0.1, ::1)" "$srv_key (server private key, mode 0600)")

echo "make-dev-cert: made"
for f in "${made[@]}"; do
    echo "  $f"
done
echo "  expires: $(openssl x509 -in "$srv_crt" -noout -enddate | cut -d= -f2)"
echo "Start the server with --cert $srv_crt --key $srv_key; clients trust --ca $ca_crt."
