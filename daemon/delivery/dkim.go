package delivery

import (
	"bytes"
	"context"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"
)

// signedHeaders are the fields a signature covers (RFC 6376 section 5.4.1).
var signedHeaders = []string{"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From",
	"Resent-To", "Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding"}

// sign adds a DKIM-Signature (relaxed/relaxed) with the sending domain's
// key. Only the From domain's key is used, and only for a verified domain:
// the send path refuses unverified domains.
func (s *Service) sign(ctx context.Context, domainID string, raw []byte) ([]byte, error) {
	if s.keys == nil {
		return nil, fmt.Errorf("no DKIM key source configured")
	}
	domain, selector, signer, err := s.keys.DKIMSigner(ctx, domainID)
	if err != nil {
		return nil, fmt.Errorf("load DKIM key: %w", err)
	}
	var out bytes.Buffer
	err = dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
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
