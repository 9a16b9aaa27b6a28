package events

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Webhooks are signed per the Standard Webhooks scheme
// (https://www.standardwebhooks.com): the secret is "whsec_" and the
// base64 of 32 random bytes; each request carries webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature "v1,<base64 of
// HMAC-SHA256(secret bytes, id + "." + timestamp + "." + body)>".

// SecretPrefix starts every webhook signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh signing secret.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes a whsec_ secret into the HMAC key.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("malformed webhook secret")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for one request.
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks a webhook-signature header (which may list several
// space-separated signatures) against the secret. Receivers should also
// refuse timestamps far from their clock; Verify does not look at time.
func Verify(secret, msgID string, timestamp int64, body []byte, header string) bool {
	want, err := Sign(secret, msgID, timestamp, body)
	if err != nil {
		return false
	}
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
