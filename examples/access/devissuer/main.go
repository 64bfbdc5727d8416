// Command devissuer is a development OpenID Connect issuer for the access
// example: it serves a discovery document and a signing key set on
// 127.0.0.1 and prints tokens signed with that key. Never use it for
// anything but local testing: its key is made at start and printed tokens
// are valid for an hour.
//
//	go run ./examples/access/devissuer [-addr 127.0.0.1:9999] [-scope orders/read]
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "listen address")
	aud := flag.String("aud", "shop", "audience of printed tokens")
	scope := flag.String("scope", "orders/read", "scope of printed tokens")
	flag.Parse()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	issuer := "http://" + *addr
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "dev-1", Algorithm: string(jose.RS256), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "dev-1"))
	if err != nil {
		log.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: issuer, Subject: "dev-user", Audience: jwt.Audience{*aud},
		IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).Claims(map[string]any{"scope": *scope}).Serialize()
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	})
	fmt.Printf("issuer %s\ntoken %s\n", issuer, token)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
