// emp-toolkit v0.3 side-by-side driver: a Bristol Fashion circuit with two
// inputs (in0 from ALICE, in1 from BOB) and one output, semi-honest
// (half-gates, IKNP-family OT), two processes over TCP. Inputs of 128 bits
// are the FIPS-197 key and plaintext (the chained AES); others are
// pseudo-random bits (a fixed seed), for timing only.
// usage: chained PARTY PORT FILE [HOST]  (BOB connects to HOST, default 127.0.0.1)
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
    const char* host = argc > 4 ? argv[4] : "127.0.0.1";
    NetIO* io = new NetIO(party == ALICE ? nullptr : host, port);
    auto t1 = clock_start();
    setup_semi_honest(io, party);
    // The input widths, from the file's header.
    int widths[2] = {0, 0};
    {
        FILE* f = fopen(file, "r");
        int ng, nw, niv;
        if (fscanf(f, "%d%d%d", &ng, &nw, &niv) != 3 || niv != 2 || fscanf(f, "%d%d", &widths[0], &widths[1]) != 2) {
            fprintf(stderr, "the circuit needs exactly two inputs\n");
            return 2;
        }
        fclose(f);
    }
    const int n_out = cf.num_output;
    vector<block> in(widths[0] + widths[1]);
    for (int side = 0; side < 2; ++side) {
        int w = widths[side];
        vector<bool> bits(w);
        // FIPS-197 key (in0) and plaintext (in1), as the garblet runs use,
        // bit i = bit i of the number (least significant first).
        unsigned char k[16] = {0x0f,0x0e,0x0d,0x0c,0x0b,0x0a,0x09,0x08,0x07,0x06,0x05,0x04,0x03,0x02,0x01,0x00};
        unsigned char p[16] = {0xff,0xee,0xdd,0xcc,0xbb,0xaa,0x99,0x88,0x77,0x66,0x55,0x44,0x33,0x22,0x11,0x00};
        unsigned long long x = 0x9e3779b97f4a7c15ULL + side;
        for (int i = 0; i < w; ++i) {
            if (w == 128) {
                bits[i] = ((side == 0 ? k : p)[i / 8] >> (i % 8)) & 1;
            } else {
                x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
                bits[i] = (x * 0x2545f4914f6cdd1dULL) >> 63;
            }
        }
        unique_ptr<bool[]> raw(new bool[w]);
        for (int i = 0; i < w; ++i) raw[i] = bits[i];
        ProtocolExecution::prot_exec->feed(in.data() + (side == 0 ? 0 : widths[0]), side == 0 ? ALICE : BOB,
                                           raw.get(), w);
    }
    Integer out(n_out, 0, PUBLIC);
    auto t2 = clock_start();
    cf.compute((block*)out.bits.data(), in.data());
    string r = out.reveal<string>(PUBLIC);
    double gc_us = time_from(t2);
    double session_us = time_from(t1);
    finalize_semi_honest();
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    // r is the output bits, least significant first, as a string of 0/1;
    // shown as hex of at most the low 128 bits.
    string hex;
    int shown = n_out < 128 ? n_out - n_out % 4 : 128;
    for (int i = shown - 1; i >= 3; i -= 4) {
        int v = 0;
        for (int j = 0; j < 4; ++j) v = v * 2 + (r[i - j] == '1');
        hex += "0123456789abcdef"[v];
    }
    printf("party %d load_s %.3f session_s %.3f gc_s %.3f peak_rss_kb %ld out 0x%s\n", party, load_us / 1e6,
           session_us / 1e6, gc_us / 1e6, ru.ru_maxrss, hex.c_str());
    delete io;
}
