package delivery

// SignWith is signWith for the external tests (the composer fuzz target).
var SignWith = signWith
