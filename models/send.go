package models

import "time"

// SendStatus is the delivery state of a sent message.
type SendStatus struct {
	ID          string              `json:"id"`
	Status      string              `json:"status"`
	CreatedAt   time.Time           `json:"created_at"`
	CompletedAt *time.Time          `json:"completed_at"`
	Recipients  []RecipientDelivery `json:"recipients" gorm:"-"`
}

// RecipientDelivery is one recipient's delivery result.
type RecipientDelivery struct {
	Address       string     `json:"address"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastCode      int        `json:"last_code"`
	LastResponse  string     `json:"last_response"`
	MX            string     `json:"mx" gorm:"column:mx"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
}
