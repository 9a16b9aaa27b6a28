package api_test

import (
	"context"

	"gent/models"
)

// addEventsFixtures gives the isolation matrix an inbox of the fixture
// organization (for :inbox_id) and webhooks (for /v1/webhooks/:id; a
// fresh one per request, since DELETE removes it).
func (f *fixture) addEventsFixtures() {
	t, db := f.env.T, f.env.Store.DB
	if _, ok := f.params["inbox_id"]; !ok {
		dom, inb := models.NewID(models.PrefixDomain), models.NewID(models.PrefixInbox)
		if err := db.Exec(`INSERT INTO domains (id, org_id, name, status) VALUES (?, ?, ?, 'verified')`,
			dom, f.org.ID, dom+".matrix.test").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`INSERT INTO inboxes (id, org_id, domain_id, address) VALUES (?, ?, ?, ?)`,
			inb, f.org.ID, dom, "agent@"+dom+".matrix.test").Error; err != nil {
			t.Fatal(err)
		}
		f.params["inbox_id"] = inb
	}
	f.makers["webhooks/id"] = func() string {
		w, err := f.env.Webhooks.Create(context.Background(), f.org.ID, f.org.OwnerID, models.CreateWebhookRequest{
			URL: "https://127.0.0.1:9/hook", EventTypes: []string{models.EventMessageReceived}})
		if err != nil {
			t.Fatal(err)
		}
		return w.ID
	}
}
