package domains

import (
	"context"
	"fmt"
	"strings"

	"gent/daemon/config"
	"gent/daemon/store"
	"gent/models"
)

// DNSReport is one domain's records as DNS publishes them now.
type DNSReport struct {
	Name    string
	Status  string // the status the daemon last stored
	Records []models.DNSRecord
}

// Problems describes the records that are not valid: required ones first
// (they decide verification), then the others. Empty when all are valid.
func (r DNSReport) Problems() (required, other []string) {
	for _, rec := range r.Records {
		if rec.Status == models.RecordValid {
			continue
		}
		what := fmt.Sprintf("%s %s %s is %s", rec.Purpose, rec.Type, rec.Name, rec.Status)
		if rec.Detail != "" {
			what += " (" + strings.TrimSuffix(rec.Detail, ".") + ")"
		}
		if rec.Required {
			required = append(required, what)
		} else {
			other = append(other, what)
		}
	}
	return required, other
}

// CheckDNS checks every domain of every organization (sandbox domains
// have no DNS of their own) against its expected records through
// dns.resolver, with the same code as verification, and changes nothing:
// no status is stored, no event emitted (gentd doctor).
func CheckDNS(ctx context.Context, db *store.Store, cfg config.Config) ([]DNSReport, error) {
	res, err := NewResolver(cfg.DNS)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, resolver: res, hostname: strings.ToLower(strings.TrimSuffix(cfg.Hostname, "."))}
	var rows []domainRow
	if err := db.DB.WithContext(ctx).Where("domain_use <> ?", models.DomainUseSandbox).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	out := make([]DNSReport, len(rows))
	for i := range rows {
		out[i] = DNSReport{Name: rows[i].Name, Status: rows[i].Status, Records: s.check(ctx, &rows[i])}
	}
	return out, nil
}
