package models

import "time"

// Domain statuses.
const (
	// DomainPending: not every required record has been found valid yet.
	DomainPending = "pending"
	// DomainVerified: ownership, SPF, DKIM and DMARC were all valid at the
	// last definitive check.
	DomainVerified = "verified"
	// DomainDegraded: was verified; a later check found a required record
	// missing or changed.
	DomainDegraded = "degraded"
)

// Domain uses.
const (
	DomainUseExisting  = "existing_domain"
	DomainUseDedicated = "dedicated_subdomain"
	// DomainUseSandbox is the organization's sandbox domain (created at
	// setup, verified without DNS): mail it sends outside the
	// organization is captured, never handed to an MX or relay.
	DomainUseSandbox = "sandbox"
)

// DMARC policies, weakest first.
const (
	DMARCNone       = "none"
	DMARCQuarantine = "quarantine"
	DMARCReject     = "reject"
)

// Record purposes.
const (
	PurposeOwnership = "ownership"
	PurposeMX        = "mx"
	PurposeSPF       = "spf"
	PurposeDKIM      = "dkim"
	PurposeDMARC     = "dmarc"
)

// Record statuses.
const (
	RecordPending = "pending" // nothing relevant is published yet
	RecordValid   = "valid"   // the published record does its job
	RecordInvalid = "invalid" // something else is published, or the lookup failed
)

// Lookup errors reported on a record whose DNS query failed. The record is
// then "invalid" and its result unknown: it never counts as valid.
const (
	LookupTimeout  = "timeout"
	LookupServFail = "servfail"
	LookupError    = "error"
)

// CreateDomainRequest is the body of POST /v1/domains/.
type CreateDomainRequest struct {
	Domain      string `json:"domain"`
	DomainUse   string `json:"domain_use,omitempty"`
	DMARCPolicy string `json:"dmarc_policy,omitempty"`
}

// UpdateDomainRequest is the body of PATCH /v1/domains/{id}; absent fields
// are left as they are. Only a sandbox domain may be disabled.
type UpdateDomainRequest struct {
	Disabled *bool `json:"disabled"`
}

// DNSRecord is one record the domain's owner publishes, with what the last
// check found.
type DNSRecord struct {
	// Type is TXT or MX.
	Type string `json:"type"`
	// Name is the fully qualified owner name, without a trailing dot.
	Name string `json:"name"`
	// Value is the record data to publish: the whole TXT text (zone files
	// split it into 255-byte strings), or the MX target host.
	Value string `json:"value"`
	// Priority is the MX preference.
	Priority int    `json:"priority,omitempty"`
	Purpose  string `json:"purpose"`
	// Required records decide the domain's status; the others (MX, the
	// Ed25519 DKIM key) are reported but do not block verification. MX is
	// needed to receive mail.
	Required bool   `json:"required"`
	Status   string `json:"status"`
	// Found lists the relevant records published at Name at the last check
	// (TXT strings joined), empty when none.
	Found []string `json:"found"`
	// Detail explains an invalid or pending status.
	Detail string `json:"detail,omitempty"`
	// LookupError is set when the DNS query failed (timeout, servfail,
	// error): the result is unknown.
	LookupError string `json:"lookup_error,omitempty"`
}

// Domain is a sending and receiving domain of an organization.
type Domain struct {
	ID string `json:"id"`
	// OrgID is for the daemon's own use (SMTP, delivery); not in the API.
	OrgID       string `json:"-"`
	Name        string `json:"name"`
	DomainUse   string `json:"domain_use"`
	DMARCPolicy string `json:"dmarc_policy"`
	Status      string `json:"status"`
	// Sandbox marks the sandbox domain (domain_use "sandbox"): nothing it
	// sends leaves the server; see docs/domains.md.
	Sandbox bool `json:"sandbox"`
	// Disabled is set on a sandbox domain an admin turned off: its inboxes
	// refuse sends (409 sandbox_disabled).
	Disabled      bool        `json:"disabled"`
	Records       []DNSRecord `json:"records"`
	CreatedAt     time.Time   `json:"created_at"`
	VerifiedAt    *time.Time  `json:"verified_at"`
	LastCheckedAt *time.Time  `json:"last_checked_at"`
}
