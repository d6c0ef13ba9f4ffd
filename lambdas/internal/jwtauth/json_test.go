package jwtauth

import "encoding/json"

func jwtJSON(v any) ([]byte, error) { return json.Marshal(v) }
