// emp-toolkit v0.3 side-by-side driver: a Bristol Fashion circuit with two
// 128-bit inputs (in0 from ALICE, in1 from BOB) and one 128-bit output,
// semi-honest (half-gates, IKNP-family OT), two processes over TCP.
// usage: chained PARTY PORT FILE
#include "emp-sh2pc/emp-sh2pc.h"
#include <sys/resource.h>
using namespace emp;
using namespace std;

int main(int argc, char** argv) {
    int port, party;
    parse_party_and_port(argv, &party, &port);
    const char* file = argv[3];
    auto t0 = clock_start();
    BristolFashion cf(file);
    double load_us = time_from(t0);
    NetIO* io = new NetIO(party == ALICE ? nullptr : "127.0.0.1", port);
    auto t1 = clock_start();
    setup_semi_honest(io, party);
    // FIPS-197 key and plaintext, as the garblet runs use.
    Integer key(128, 0, ALICE), pt(128, 0, BOB);
    {
        // in0 bit i = bit i of 0x000102030405060708090a0b0c0d0e0f as
        // garblet reads a hex input (bit 0 the least significant).
        bool kb[128], pb[128];
        unsigned char k[16] = {0x0f,0x0e,0x0d,0x0c,0x0b,0x0a,0x09,0x08,0x07,0x06,0x05,0x04,0x03,0x02,0x01,0x00};
        unsigned char p[16] = {0xff,0xee,0xdd,0xcc,0xbb,0xaa,0x99,0x88,0x77,0x66,0x55,0x44,0x33,0x22,0x11,0x00};
        for (int i = 0; i < 128; ++i) { kb[i] = (k[i / 8] >> (i % 8)) & 1; pb[i] = (p[i / 8] >> (i % 8)) & 1; }
        key = Integer(128, 0, PUBLIC); pt = Integer(128, 0, PUBLIC);
        ProtocolExecution::prot_exec->feed((block*)key.bits.data(), ALICE, kb, 128);
        ProtocolExecution::prot_exec->feed((block*)pt.bits.data(), BOB, pb, 128);
    }
    vector<block> in(256);
    memcpy(in.data(), key.bits.data(), 128 * sizeof(block));
    memcpy(in.data() + 128, pt.bits.data(), 128 * sizeof(block));
    Integer out(128, 0, PUBLIC);
    auto t2 = clock_start();
    cf.compute((block*)out.bits.data(), in.data());
    string r = out.reveal<string>(PUBLIC);
    double gc_us = time_from(t2);
    double session_us = time_from(t1);
    finalize_semi_honest();
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    // r is the output bits, least significant first, as a string of 0/1.
    string hex;
    for (int i = 127; i >= 3; i -= 4) {
        int v = 0;
        for (int j = 0; j < 4; ++j) v = v * 2 + (r[i - j] == '1');
        hex += "0123456789abcdef"[v];
    }
    printf("party %d load_s %.3f session_s %.3f gc_s %.3f peak_rss_kb %ld out 0x%s\n", party, load_us / 1e6,
           session_us / 1e6, gc_us / 1e6, ru.ru_maxrss, hex.c_str());
    delete io;
}
