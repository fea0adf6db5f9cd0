// SPDX-License-Identifier: MIT
//
// aligned.cpp - a C++17 program for the smoke suite, compiled with g++ at
// test time: aligned new (operator new(size, align_val_t), which libstdc++
// implements with aligned_alloc), plain new of big arrays, vector growth
// (realloc-like copies across the threshold), a thread_local object whose
// destructor frees a big block after the thread's function returned, and
// delete of all of them. stdout must be the same with and without the
// preload; stderr says which page size backs the biggest block
// ("kernel-page-size N kB", from /proc/self/smaps).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel-page.hpp"

struct alignas(4096) Page {
	unsigned char b[4096];
};

struct alignas(64) Line {
	std::uint64_t v[8];
};

struct Holder {
	std::unique_ptr<Line[]> big;
	~Holder() { big.reset(); }	// runs at thread exit
};

thread_local Holder holder;

int main()
{
	std::uint64_t sum = 0;

	// aligned new: 4 KiB-aligned pages, 4 MiB of them
	{
		auto pages = std::make_unique<Page[]>(1024);
		bool aligned = reinterpret_cast<std::uintptr_t>(pages.get()) % alignof(Page) == 0;
		for (int i = 0; i < 1024; i++)
			std::memset(pages[i].b, i & 0xff, sizeof(pages[i].b));
		for (int i = 0; i < 1024; i++)
			sum += pages[i].b[i % 4096];
		std::printf("aligned new Page[1024]: aligned %d sum %llu\n", aligned,
			    (unsigned long long)sum);
		std::fprintf(stderr, "kernel-page-size %ld kB\n", kernel_page_kb(pages.get() + 512));
	}
	// operator new with a 2 MiB alignment
	{
		void *p = ::operator new(3u << 20, std::align_val_t(2u << 20));
		std::printf("new(3M, align 2M): aligned %d\n",
			    reinterpret_cast<std::uintptr_t>(p) % (2u << 20) == 0);
		std::memset(p, 1, 3u << 20);
		::operator delete(p, std::align_val_t(2u << 20));
	}
	// vector growth across the threshold, both ways
	{
		std::vector<Line> v;
		for (int i = 0; i < 200000; i++)
			v.push_back(Line{{std::uint64_t(i), 1, 2, 3, 4, 5, 6, 7}});
		std::uint64_t s = 0;
		for (auto &l : v)
			s += l.v[0];
		v.resize(100);
		v.shrink_to_fit();
		std::printf("vector<Line> 200000: sum %llu, shrunk to %zu\n", (unsigned long long)s,
			    v.size());
	}
	// strings and streams
	{
		std::string s(5u << 20, 'x');
		std::ostringstream os;
		for (int i = 0; i < 100000; i++)
			os << i << ',';
		std::string t = os.str() + s;
		std::printf("strings: %zu %zu\n", s.size(), t.size());
	}
	// a thread_local destructor frees a big block at thread exit
	{
		std::thread th([] {
			holder.big = std::make_unique<Line[]>(100000);
			for (int i = 0; i < 100000; i++)
				holder.big[i].v[0] = i;
		});
		th.join();
		std::printf("thread_local holder: done\n");
	}
	std::vector<std::vector<int>> vv(64);
	for (auto &v : vv) {
		v.resize(70000);
		std::iota(v.begin(), v.end(), 0);
	}
	std::printf("64 x 70000 ints: %d\n", vv[63][69999]);
	return 0;
}
