// SPDX-License-Identifier: MIT
//
// kernel-page.hpp - for the C++ programs the preload tests compile at test
// time (aligned.cpp, mt-new.cpp): the page size the kernel backs an
// address with, read from the program's own /proc/self/smaps, so that the
// test learns it from the kernel and not from the library.
#ifndef HUGEPOOL_TEST_KERNEL_PAGE_HPP
#define HUGEPOOL_TEST_KERNEL_PAGE_HPP

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

// KernelPageSize of the mapping that holds p, in kB; -1 if none does.
static inline long kernel_page_kb(const void *p)
{
	std::ifstream f("/proc/self/smaps");
	std::string line;
	auto a = reinterpret_cast<std::uintptr_t>(p);
	bool in = false;

	while (std::getline(f, line)) {
		unsigned long lo, hi;
		long kb;
		auto dash = line.find('-'), sp = line.find(' ');

		if (dash != std::string::npos && sp != std::string::npos && dash < sp &&
		    std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && std::sscanf(line.c_str(), "KernelPageSize: %ld kB", &kb) == 1)
			return kb;
	}
	return -1;
}

#endif // HUGEPOOL_TEST_KERNEL_PAGE_HPP
