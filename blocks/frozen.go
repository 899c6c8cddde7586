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

// EncodeMessage is json.Marshal(m), byte for byte, done with less work:
// encoding/json re-validates and compacts whatever a MarshalJSON returns,
// at every level, and slack-go wraps a message's blocks in two such levels
// (Blocks, then the slice), so a message's blocks were scanned three
// times, and frozen ones were not spared. Here each block is encoded once
// and a frozen block not at all. Answers to Slack's requests go out this
// way; they are most of what Charlize encodes under load.
func EncodeMessage(m slack.WebhookMessage) ([]byte, error) {
	if m.Blocks == nil || len(m.Blocks.BlockSet) == 0 {
		return json.Marshal(m)
	}
	set := m.Blocks.BlockSet
	// The message around a one-block placeholder, then the blocks spliced
	// in its place. A JSON string escapes its quotes, so the placeholder's
	// key can only be the message's own "blocks".
	m.Blocks = &slack.Blocks{BlockSet: []slack.Block{frozenBlock{raw: json.RawMessage("0")}}}
	outer, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(outer, []byte(blocksPlaceholder))
	if at < 0 {
		return nil, fmt.Errorf("blocks.EncodeMessage: no %s in the message", blocksPlaceholder)
	}
	// Every block encoded first, so that the answer is allocated once, at
	// its size.
	raws := make([][]byte, len(set))
	size := len(outer) + len(set)
	for i, b := range set {
		if f, ok := b.(frozenBlock); ok {
			raws[i] = f.raw
		} else if raws[i], err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("blocks.EncodeMessage %s: %w", b.BlockType(), err)
		}
		size += len(raws[i])
	}
	out := make([]byte, 0, size)
	out = append(out, outer[:at+len(blocksPlaceholder)-2]...)
	for i, raw := range raws {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, raw...)
	}
	return append(out, outer[at+len(blocksPlaceholder)-1:]...), nil
}

const blocksPlaceholder = `"blocks":[0]`
