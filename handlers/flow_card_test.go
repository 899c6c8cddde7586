package handlers_test

import (
	"testing"
)

func TestCardGraph(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("web-1", "card1")
	t.Log(messageText(card))
}
