package store_test

import "gent/models"

func codeOf(err error) string { return models.ErrorCode(err) }
