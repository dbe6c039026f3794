package crisis

// notADay follows "can't go on" in messages about scheduling ("I can't go
// on Mondays"), which are not crisis language.
const notADay = "!mon|monday|mondays|tue|tues|tuesday|tuesdays|wed|wednesday|wednesdays|thu|thur|thurs|thursday|thursdays|fri|friday|fridays|sat|saturday|saturdays|sun|sunday|sundays|weekdays|weekends|weekend|vacation|holiday|leave|0|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19|20|21|22|23|24|25|26|27|28|29|30|31"

// defaults are the phrases that make a message urgent, in a small pattern
// language: words in order; "a|b" accepts either spelling; a "~" accepts
// one typo (only on long words, where a typo cannot make another
// common word); a last word starting with "!" must not follow. Every word
// also matches with letters doubled or drawn out ("kil", "killl"), and two
// tokens run together ("can not", "can t" for "cant"). Apostrophes split
// words, so contractions are written without them: "cant", "dont".
var defaults = []string{
	// suicide, by name
	"suicide~|suicidal~|suicidality~|suicides~",
	"unalive|unalived|unaliving",
	"kms",
	// killing or hurting oneself
	"kill|killing|killed|kiling|hurt|hurting|harm|harming|cut|cutting|cuting|injure|injuring|hang|hanging|shoot|shooting|drown|drowning|poison|poisoning|starve|starving myself~|meself",
	"self harm|harming|harmed|injury|injure|injuring|mutilation",
	"selfharm|selfharming|selfinjury",
	// ending one's life
	"end|ending|ended|take|taking|took my life",
	"end|ending|ended|take|taking|took my own life",
	"end|ending it all",
	"end|ending things",
	"jump|jumping off|from a|the bridge|roof|building",
	// overdose
	"overdose~|overdosed~|overdosing~|overdoses~",
	"od|oding|odding",
	"all my pills|meds|medication|medications",
	"all of my pills|meds|medication|medications",
	"whole bottle",
	// can't go on
	"cant|cannot|cnt|couldnt go on " + notADay,
	"cant|cannot|cnt|couldnt keep going",
	"cant|cannot|cnt do this|it anymore",
	"cant|cannot|cnt take it|this anymore",
	"cant|cannot|cnt live like this",
	// no reason to live
	"no reason~|point|purpose to live|living",
	"no reason~|point|purpose to be alive|here",
	"no point|reason~ in living",
	"nothing to live for",
	"not|isnt|aint worth living",
	// better off dead or without me
	"better off|of dead",
	"better off|of without me",
	"better off|of if i was|were|wasnt|werent gone|dead|here|around",
	// wanting to die
	"want|wanna|wanted|wanting|ready to die",
	"wanna die",
	"want|wanna|wanted|wanting to be dead",
	"wish i was|were dead",
	"wish i could|would be dead",
	"wish i could|would die",
	"dont|donot|didnt want to live|exist",
	"dont|donot|didnt want to be alive|here|around",
	"dont|donot|didnt want to wake up",
}
