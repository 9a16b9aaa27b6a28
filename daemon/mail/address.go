package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	gomail "github.com/emersion/go-message/mail"

	"gent/models"
)

// Addresses Gent sends to are RFC 5321 mailboxes that can be written into
// an SMTP command as they are: a Dot-string local part (RFC 5321 section
// 4.1.2) and a domain name. go-smtp's client writes "RCPT TO:<%s>" without
// quoting, so a local part that would need an RFC 5321 Quoted-string
// (spaces, '"', '\\', '<', '>', '@', control characters...) is refused
// rather than sent: its quotes would be lost and its text would become part
// of the command. A quoted local part that needs no quoting
// ("john.smith"@example.com) is the same mailbox as the unquoted one and is
// accepted as such.

// Mailbox length limits (RFC 5321 section 4.5.3.1).
const (
	MaxLocalPartOctets = 64
	MaxDomainOctets    = 255
	MaxLabelOctets     = 63
	// A path is at most 256 octets with its angle brackets.
	MaxMailboxOctets = 254
)

// atext besides letters and digits (RFC 5322 section 3.2.3, RFC 5321
// section 4.1.2).
const atextSpecials = "!#$%&'*+-/=?^_`{|}~"

// CheckMailbox reports why addr (local@domain, as it would be written
// between the angle brackets of MAIL FROM or RCPT TO) is not a mailbox Gent
// sends to; nil means it is one.
func CheckMailbox(addr string) error {
	if len(addr) > MaxMailboxOctets {
		return fmt.Errorf("the address is %d octets; at most %d are allowed", len(addr), MaxMailboxOctets)
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return errors.New("the address has no @domain")
	}
	if err := checkLocalPart(addr[:at]); err != nil {
		return err
	}
	return CheckDomain(addr[at+1:])
}

func checkLocalPart(local string) error {
	if local == "" {
		return errors.New("the local part is empty")
	}
	if len(local) > MaxLocalPartOctets {
		return fmt.Errorf("the local part is %d octets; at most %d are allowed", len(local), MaxLocalPartOctets)
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return errors.New("the local part may not start or end with a dot or hold two in a row")
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if isAlnum(c) || c == '.' || strings.IndexByte(atextSpecials, c) >= 0 {
			continue
		}
		if c >= 0x80 {
			return errors.New("the local part is not ASCII; internationalized addresses (SMTPUTF8) are not sent")
		}
		return fmt.Errorf("the local part may not contain %q: quoted local parts that need quoting are not accepted", rune(c))
	}
	return nil
}

// CheckDomain reports why d is not a domain name mail can be sent to: LDH
// labels of 1 to 63 octets, at most 255 octets in all, no trailing dot, no
// address literal.
func CheckDomain(d string) error {
	if d == "" {
		return errors.New("the domain is empty")
	}
	if len(d) > MaxDomainOctets {
		return fmt.Errorf("the domain is %d octets; at most %d are allowed", len(d), MaxDomainOctets)
	}
	if d[0] == '[' {
		return errors.New("address literals ([192.0.2.1]) are not accepted; use a domain name")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return errors.New("the domain has an empty label (a leading, trailing or double dot)")
		}
		if len(label) > MaxLabelOctets {
			return fmt.Errorf("the domain label %q is %d octets; at most %d are allowed", label, len(label), MaxLabelOctets)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("the domain label %q may not start or end with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if isAlnum(c) || c == '-' {
				continue
			}
			if c >= 0x80 {
				return errors.New("the domain is not ASCII; give its A-label (xn--) form")
			}
			return fmt.Errorf("the domain may not contain %q", rune(c))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseMailbox reads one address as given to the API ("a@x" or
// "Name <a@x>"), lower-cases it and checks it is a mailbox Gent sends to.
// Errors are validation_failed naming field.
func ParseMailbox(field, raw string) (*gomail.Address, error) {
	if strings.ContainsAny(raw, "\r\n\x00") {
		return nil, models.Invalid(field, "line breaks and NUL are not allowed in addresses")
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || !strings.Contains(a.Address, "@") {
		return nil, models.Invalid(field, "not an RFC 5322 address: %q", raw)
	}
	addr := strings.ToLower(a.Address)
	if err := CheckMailbox(addr); err != nil {
		return nil, models.Invalid(field, "%q is not a mailbox Gent sends to: %v", raw, err)
	}
	return &gomail.Address{Name: a.Name, Address: addr}, nil
}

// CheckAddressList checks every address of a request's list (to, cc, bcc,
// reply_to), naming the first bad one as field[i].
func CheckAddressList(field string, list []string) error {
	for i, raw := range list {
		if _, err := ParseMailbox(fmt.Sprintf("%s[%d]", field, i), raw); err != nil {
			return err
		}
	}
	return nil
}
