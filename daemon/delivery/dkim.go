package delivery

import (
	"bytes"
	"context"
	"crypto"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/domains"
)

// signedHeaders are the fields a signature covers (RFC 6376 section 5.4.1).
var signedHeaders = []string{"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From",
	"Resent-To", "Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding"}

// sign adds DKIM signatures (relaxed/relaxed) with the sending domain's
// keys: RSA-SHA256, plus Ed25519-SHA256 (RFC 8463) when that record is
// published. Only the From domain's keys are used, and the send path
// refuses domains that are not verified.
func (s *Service) sign(ctx context.Context, o *sendRow, domain string) ([]byte, error) {
	var (
		keys []domains.DKIMKey
		err  error
	)
	if o.dkim != nil {
		keys, err = s.keys.DKIMKeysOf(*o.dkim)
	} else {
		keys, err = s.keys.DKIMKeys(ctx, o.DomainID)
	}
	if err != nil {
		return nil, fmt.Errorf("load DKIM keys: %w", err)
	}
	out := o.Raw
	for _, k := range keys {
		if out, err = signWith(out, domain, k.Selector, k.Signer); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func signWith(raw []byte, domain, selector string, signer crypto.Signer) ([]byte, error) {
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("DKIM sign: %w", err)
	}
	return out.Bytes(), nil
}
