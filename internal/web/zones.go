package web

import "github.com/practicemail/practicemail/templates"

// commonZones are the hosted inquiry form's time zones. A page without
// script cannot read the browser's zone, so the form offers a short list
// with the practice's own zone chosen; a pasted snippet or a JSON client
// may send any IANA name, which is checked the same way.
var commonZones = []templates.Choice{
	{Value: "America/New_York", Label: "US Eastern (New York)"},
	{Value: "America/Chicago", Label: "US Central (Chicago)"},
	{Value: "America/Denver", Label: "US Mountain (Denver)"},
	{Value: "America/Phoenix", Label: "Arizona (Phoenix)"},
	{Value: "America/Los_Angeles", Label: "US Pacific (Los Angeles)"},
	{Value: "America/Anchorage", Label: "Alaska (Anchorage)"},
	{Value: "Pacific/Honolulu", Label: "Hawaii (Honolulu)"},
	{Value: "America/Halifax", Label: "Atlantic (Halifax)"},
	{Value: "America/Puerto_Rico", Label: "Puerto Rico"},
	{Value: "America/Mexico_City", Label: "Mexico City"},
	{Value: "America/Sao_Paulo", Label: "São Paulo"},
	{Value: "Europe/London", Label: "UK and Ireland (London)"},
	{Value: "Europe/Paris", Label: "Central Europe (Paris, Berlin)"},
	{Value: "Europe/Athens", Label: "Eastern Europe (Athens)"},
	{Value: "Africa/Johannesburg", Label: "South Africa (Johannesburg)"},
	{Value: "Asia/Dubai", Label: "Gulf (Dubai)"},
	{Value: "Asia/Kolkata", Label: "India (Kolkata)"},
	{Value: "Asia/Singapore", Label: "Singapore"},
	{Value: "Asia/Tokyo", Label: "Japan (Tokyo)"},
	{Value: "Australia/Sydney", Label: "Australia East (Sydney)"},
	{Value: "Pacific/Auckland", Label: "New Zealand (Auckland)"},
	{Value: "UTC", Label: "UTC"},
}

// zoneChoices is the list with chosen selected (else the practice's zone),
// either of them added first when the list lacks it.
func zoneChoices(practice, chosen string) []templates.Choice {
	if chosen == "" || !knownZone(chosen) {
		chosen = practice
	}
	out := make([]templates.Choice, 0, len(commonZones)+1)
	found := false
	for _, z := range commonZones {
		z.Selected = z.Value == chosen
		found = found || z.Selected
		out = append(out, z)
	}
	if !found && chosen != "" && knownZone(chosen) {
		out = append([]templates.Choice{{Value: chosen, Label: chosen, Selected: true}}, out...)
	}
	return out
}
