package blocks

import (
	"bytes"
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

// AppendMessage appends json.Marshal(m) to dst, byte for byte, done with
// less work: encoding/json re-validates and compacts whatever a
// MarshalJSON returns, at every level, and slack-go wraps a message's
// blocks in two such levels (Blocks, then the slice), so a message's
// blocks were scanned three times, and frozen ones were not spared. Here
// each block is encoded once and a frozen block not at all. Answers to
// Slack's requests go out this way, into a buffer the server reuses; they
// are most of what Charlize encodes under load.
func AppendMessage(dst []byte, m slack.WebhookMessage) ([]byte, error) {
	if m.Blocks == nil || len(m.Blocks.BlockSet) == 0 {
		raw, err := json.Marshal(m)
		return append(dst, raw...), err
	}
	set := m.Blocks.BlockSet
	// The message around a one-block placeholder, then the blocks spliced
	// in its place. A JSON string escapes its quotes, so the placeholder's
	// key can only be the message's own "blocks".
	m.Blocks = &slack.Blocks{BlockSet: []slack.Block{frozenBlock{raw: json.RawMessage("0")}}}
	outer, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	at := bytes.Index(outer, []byte(blocksPlaceholder))
	if at < 0 {
		return dst, fmt.Errorf("blocks.AppendMessage: no %s in the message", blocksPlaceholder)
	}
	dst = append(dst, outer[:at+len(blocksPlaceholder)-2]...)
	for i, b := range set {
		if i > 0 {
			dst = append(dst, ',')
		}
		if f, ok := b.(frozenBlock); ok {
			dst = append(dst, f.raw...)
			continue
		}
		raw, err := json.Marshal(b)
		if err != nil {
			return dst, fmt.Errorf("blocks.AppendMessage %s: %w", b.BlockType(), err)
		}
		dst = append(dst, raw...)
	}
	return append(dst, outer[at+len(blocksPlaceholder)-1:]...), nil
}

const blocksPlaceholder = `"blocks":[0]`
