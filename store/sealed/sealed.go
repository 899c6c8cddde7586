// Package sealed wraps a store.Store so that Slack tokens are encrypted at
// rest: BotToken and RefreshToken are sealed with AES-256-GCM on
// SaveInstallation and opened on Installation. Everything else passes
// through unchanged. It does not manage keys: the caller supplies the
// current key and any previous ones still accepted for reading.
package sealed

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/charlize-app/charlize/store"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// prefix marks a sealed value: "sealed:v1:<key id>:<base64(nonce|ciphertext)>".
const prefix = "sealed:v1:"

// ErrKey means a sealed value cannot be opened: it was sealed with a key
// that is neither the current key nor an old one, or it was altered.
var ErrKey = errors.New("sealed: cannot decrypt token (unknown key or tampered value)")

// ErrNotSealed means a stored token is in clear, which this wrapper never writes.
var ErrNotSealed = errors.New("sealed: stored token is not encrypted")

type key struct {
	id   string // first 8 bytes of SHA-256(key), hex: says which key sealed a value without revealing it
	aead cipher.AEAD
}

// Store is a store.Store whose installation tokens are encrypted.
type Store struct {
	store.Store
	current key
	byID    map[string]key
}

var _ store.Store = (*Store)(nil)

// New wraps inner. current seals every token saved; old keys (from before
// a key rotation) still open tokens sealed with them until they are saved
// again, which reseals them with current.
func New(inner store.Store, current []byte, old ...[]byte) (*Store, error) {
	cur, err := newKey(current)
	if err != nil {
		return nil, fmt.Errorf("sealed.New: current key: %w", err)
	}
	s := &Store{Store: inner, current: cur, byID: map[string]key{cur.id: cur}}
	for i, raw := range old {
		k, err := newKey(raw)
		if err != nil {
			return nil, fmt.Errorf("sealed.New: old key %d: %w", i+1, err)
		}
		if _, dup := s.byID[k.id]; !dup {
			s.byID[k.id] = k
		}
	}
	return s, nil
}

func newKey(raw []byte) (key, error) {
	if len(raw) != KeySize {
		return key{}, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, err
	}
	sum := sha256.Sum256(raw)
	return key{id: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// SaveInstallation seals the tokens with the current key and saves.
func (s *Store) SaveInstallation(ctx context.Context, inst store.Installation) error {
	var err error
	if inst.BotToken, err = s.seal(inst.BotToken, inst.Key, "bot_token"); err != nil {
		return err
	}
	if inst.RefreshToken, err = s.seal(inst.RefreshToken, inst.Key, "refresh_token"); err != nil {
		return err
	}
	return s.Store.SaveInstallation(ctx, inst)
}

// Installation loads and opens the tokens of key's installation.
func (s *Store) Installation(ctx context.Context, k string) (store.Installation, error) {
	inst, err := s.Store.Installation(ctx, k)
	if err != nil {
		return inst, err
	}
	// Opened for the key asked for, not the one the record names: another
	// workspace's whole record copied under k does not open as k's.
	if inst.Key != k {
		return store.Installation{}, fmt.Errorf("sealed.Installation %s: the record is %s's: %w", k, inst.Key, ErrKey)
	}
	if inst.BotToken, err = s.open(inst.BotToken, k, "bot_token"); err != nil {
		return store.Installation{}, fmt.Errorf("sealed.Installation %s: bot token: %w", k, err)
	}
	if inst.RefreshToken, err = s.open(inst.RefreshToken, k, "refresh_token"); err != nil {
		return store.Installation{}, fmt.Errorf("sealed.Installation %s: refresh token: %w", k, err)
	}
	return inst, nil
}

// aad binds a sealed value to its installation and field, so a token
// copied into another installation's record does not open.
func aad(instKey, field string) []byte { return []byte(instKey + "\x00" + field) }

func (s *Store) seal(plain, instKey, field string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, s.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealed: nonce: %w", err)
	}
	out := s.current.aead.Seal(nonce, nonce, []byte(plain), aad(instKey, field))
	return prefix + s.current.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

func (s *Store) open(value, instKey, field string) (string, error) {
	if value == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return "", ErrNotSealed
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", ErrKey
	}
	k, ok := s.byID[id]
	if !ok {
		return "", ErrKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", ErrKey
	}
	nonce, ct := raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():]
	plain, err := k.aead.Open(nil, nonce, ct, aad(instKey, field))
	if err != nil {
		return "", ErrKey
	}
	return string(plain), nil
}
