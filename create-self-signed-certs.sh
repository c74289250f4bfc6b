#!/usr/bin/env bash
#
# Creates a throw-away certificate authority and a TLS certificate for
# "localhost" / 127.0.0.1, for development and tests only.
#
# Run it from the repository root:
#
#     ./create-self-signed-certs.sh
#
# It leaves three files in ./.certs, which match the defaults of
# SSL_KEY_PATH and SSL_CERT_PATH:
#
#     .certs/ca.crt      the CA certificate (give it to clients: curl --cacert)
#     .certs/server.crt  the server certificate, signed by that CA
#     .certs/server.key  the server's private key (unencrypted)
#
# Unlike the original script it stops at the first failing step.

set -euo pipefail

command -v openssl >/dev/null 2>&1 || {
  echo "create-self-signed-certs.sh: openssl is required but was not found in PATH" >&2
  exit 1
}

DIR="$(pwd)/.certs"

# Start from an empty directory.
rm -rf "${DIR}"
mkdir -p "${DIR}"

# OpenSSL configuration: key and digest defaults, the server's subject, and
# the extensions of the server certificate (v3_req). The v3_ca section is used
# only for the self-signed CA, so that it is a CA whatever the system's
# default openssl.cnf says.
cat > "${DIR}/openssl.cnf" <<'EOF'
[req]
default_bits       = 2048
encrypt_key        = no
default_md         = sha256
prompt             = no
utf8               = yes
distinguished_name = req_distinguished_name
req_extensions     = v3_req

[req_distinguished_name]
C  = UE
ST = Bruxelas
L  = Bruxelas
O  = OCARIoT CA
CN = localhost

[v3_req]
basicConstraints     = CA:FALSE
subjectKeyIdentifier = hash
keyUsage             = digitalSignature, keyEncipherment
extendedKeyUsage     = clientAuth, serverAuth
subjectAltName       = @alt_names

[alt_names]
IP.1  = 127.0.0.1
DNS.1 = localhost

[v3_ca]
basicConstraints       = critical, CA:TRUE
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always, issuer
keyUsage               = critical, keyCertSign, cRLSign
EOF

# 1. The self-signed certificate authority: RSA 2048, valid 365 days.
openssl req \
  -new \
  -x509 \
  -newkey rsa:2048 \
  -nodes \
  -sha256 \
  -days 365 \
  -config "${DIR}/openssl.cnf" \
  -extensions v3_ca \
  -subj "/C=US/ST=Bruxelas/L=Bruxelas/O=OCARIoT CA/CN=localhost" \
  -keyout "${DIR}/ca.key" \
  -out "${DIR}/ca.crt"

# 2. The server's private key: RSA 2048.
openssl genrsa -out "${DIR}/server.key" 2048

# 3. A certificate signing request built from the configuration above.
openssl req \
  -new \
  -key "${DIR}/server.key" \
  -config "${DIR}/openssl.cnf" \
  -out "${DIR}/server.csr"

# 4. The server certificate, signed by the CA for 365 days, with the v3_req
#    extensions (SAN IP:127.0.0.1, DNS:localhost; clientAuth and serverAuth).
openssl x509 \
  -req \
  -sha256 \
  -days 365 \
  -in "${DIR}/server.csr" \
  -CA "${DIR}/ca.crt" \
  -CAkey "${DIR}/ca.key" \
  -CAcreateserial \
  -extensions v3_req \
  -extfile "${DIR}/openssl.cnf" \
  -out "${DIR}/server.crt"

# The container image runs as a non-root user (uid 10001) and docker-compose
# mounts ./.certs read-only, so the key must be readable by others. This is a
# throw-away development key; never do this with a real one.
chmod 0644 "${DIR}/server.key"

# 5. Remove everything that is no longer needed: the CA key (nothing else can
#    be signed with this CA), the serial files, the CSR and the configuration.
rm -f "${DIR}/ca.key" "${DIR}/ca.srl" ./.srl "${DIR}/server.csr" "${DIR}/openssl.cnf"

echo "Created ${DIR}/ca.crt, ${DIR}/server.crt and ${DIR}/server.key"
