package jwtverify

import (
	"crypto/x509"
	"os"
)

// caBundles are the CA bundle files tried in order, after $SSL_CERT_FILE:
// Amazon Linux 2023 (the Lambda runtime) first, then Debian/Ubuntu.
var caBundles = []string{"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"}

// rootCAs loads one CA bundle file. Go's default system pool also parses
// every file of the certificate directories (on Amazon Linux that is the
// same bundle two more times), which costs several milliseconds of cold
// start; one file is enough. nil means "use Go's default pool".
func rootCAs() *x509.CertPool {
	files := caBundles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = append([]string{f}, files...)
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(pem) {
			return pool
		}
	}
	return nil
}
