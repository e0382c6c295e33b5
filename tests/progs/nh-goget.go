// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// nh-goget: a Go client, built static (CGO_ENABLED=0): Go makes its
// system calls itself, with non-blocking sockets and signals preempting
// its threads, so LD_PRELOAD tools cannot see it.
//
//	nh-goget [-n N] ADDR:PORT PATH
//
// N goroutines each connect and GET PATH (HTTP/1.0) at once.  Prints
// "peer=ADDR:PORT" (what the first connection's getpeername() said), the
// first body, and "ok=N bad=N" (a line per failure before it); exits 0
// when all N were ok.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

func get(addr, path string) (peer, body string, err error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err = fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path); err != nil {
		return "", "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", "", err
	}
	s := string(b)
	i := strings.Index(s, "\r\n\r\n")
	if i < 0 || !strings.HasPrefix(s, "HTTP/1.1 200") {
		return "", "", fmt.Errorf("not a 200 reply: %q", s[:min(len(s), 40)])
	}
	return c.RemoteAddr().String(), s[i+4:], nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	n := flag.Int("n", 1, "concurrent GETs")
	flag.Parse()
	if flag.NArg() != 2 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: nh-goget [-n N] ADDR:PORT PATH")
		os.Exit(2)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, bad := 0, 0
	first, peer := "", ""
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, b, err := get(flag.Arg(0), flag.Arg(1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad++
				fmt.Println("error:", err)
				return
			}
			if ok == 0 {
				first, peer = b, p
			}
			ok++
		}()
	}
	wg.Wait()
	if ok > 0 {
		fmt.Printf("peer=%s\n%s", peer, first)
		if !strings.HasSuffix(first, "\n") {
			fmt.Println()
		}
	}
	fmt.Printf("ok=%d bad=%d\n", ok, bad)
	if bad > 0 {
		os.Exit(1)
	}
}
