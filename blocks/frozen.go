package blocks

import (
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"
)

// Freeze encodes blocks once and returns blocks that marshal to the same
// JSON without encoding again: for blocks that never change and go out
// with many messages (the help, which also follows every "did you mean").
// The limit checks read block structs, so check the originals.
func Freeze(set []slack.Block) ([]slack.Block, error) {
	out := make([]slack.Block, len(set))
	for i, b := range set {
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("blocks.Freeze %s: %w", b.BlockType(), err)
		}
		out[i] = frozenBlock{typ: b.BlockType(), id: b.ID(), raw: raw}
	}
	return out, nil
}

// frozenBlock is a block as Freeze encoded it.
type frozenBlock struct {
	typ slack.MessageBlockType
	id  string
	raw json.RawMessage
}

func (b frozenBlock) BlockType() slack.MessageBlockType { return b.typ }
func (b frozenBlock) ID() string                        { return b.id }
func (b frozenBlock) MarshalJSON() ([]byte, error)      { return b.raw, nil }
