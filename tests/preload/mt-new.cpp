// SPDX-License-Identifier: MIT
//
// mt-new.cpp - a C++17 program for the mt-programs test, compiled with g++
// at test time: four threads make many small objects with new and delete
// (map nodes, strings, shared_ptr control blocks, list nodes), and pass
// half of them through a queue to another thread, which deletes them (a
// cross-thread free for every object that crosses). stdout is a checksum
// of what the threads computed, the same whoever allocates; stderr says on
// which page size a small object lives ("kernel-page-size N kB", from
// /proc/self/smaps), which the test reads at HUGEPOOL_THRESHOLD=0.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "kernel-page.hpp"

struct Node {
	std::uint64_t key;
	std::string name;
	std::vector<int> v;
};

// a queue of objects from one thread to the next, which deletes them
struct Mailbox {
	std::mutex m;
	std::condition_variable cv;
	std::queue<Node *> q;
	bool done = false;

	void put(Node *n)
	{
		std::lock_guard<std::mutex> g(m);
		q.push(n);
		cv.notify_one();
	}

	Node *take()
	{
		std::unique_lock<std::mutex> g(m);
		cv.wait(g, [this] { return !q.empty() || done; });
		if (q.empty())
			return nullptr;
		Node *n = q.front();
		q.pop();
		return n;
	}
};

// Build, use and free small objects; every other one goes to the next
// thread's mailbox. Returns a checksum of the values computed.
static std::uint64_t work(int id, Mailbox &out)
{
	std::uint64_t sum = 0, x = 88172645463325252ULL + (std::uint64_t)id;
	std::map<std::uint64_t, std::shared_ptr<std::string>> m;
	std::list<std::string> l;

	for (int i = 0; i < 60000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		auto *n = new Node{ x % 100000, std::to_string(x % 977), std::vector<int>(x % 23, id) };
		sum += n->key + n->name.size() + n->v.size();
		if (i % 2)
			out.put(n);
		else
			delete n;
		m[x % 5000] = std::make_shared<std::string>(32 + x % 200, 'a' + id);
		l.emplace_back(x % 64, 'z');
		if (l.size() > 1000)
			l.pop_front();
	}
	for (auto &kv : m)
		sum += kv.first * kv.second->size();
	return sum + l.size();
}

int main()
{
	const int nthreads = 4;
	std::vector<Mailbox> box(nthreads);
	std::vector<std::uint64_t> sums(nthreads), freed(nthreads);
	std::vector<std::thread> workers, reapers;
	std::vector<char> big(1 << 20, 1);	// a block above the default threshold too

	for (int i = 0; i < nthreads; i++)
		reapers.emplace_back([&, i] {
			while (Node *n = box[i].take()) {
				freed[i] += n->key;
				delete n;	// allocated by thread i, freed here
			}
		});
	for (int i = 0; i < nthreads; i++)
		workers.emplace_back([&, i] { sums[i] = work(i, box[i]); });
	for (auto &t : workers)
		t.join();
	for (auto &b : box) {
		std::lock_guard<std::mutex> g(b.m);
		b.done = true;
		b.cv.notify_all();
	}
	for (auto &t : reapers)
		t.join();
	for (int i = 0; i < nthreads; i++)
		std::printf("thread %d: sum %llu, freed by another thread %llu\n", i,
			    (unsigned long long)sums[i], (unsigned long long)freed[i]);
	auto small = std::make_unique<Node>();
	std::fprintf(stderr, "kernel-page-size %ld kB\n", kernel_page_kb(small.get()));
	std::printf("big %d\n", big[12345]);
	return 0;
}
