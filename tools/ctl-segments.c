/* SPDX-License-Identifier: MIT */
/*
 * ctl-segments.c - `hugepool-ctl segments BINARY`: for each PT_LOAD segment
 * of a program (or shared library) on disk, how many bytes of its text,
 * data and bss HUGEPOOL_SEGMENTS would put on 2 MiB and on 1 GiB pages,
 * and why the rest would stay on base pages. The plan is the preload's
 * own (lib/segments.c, hp_seg_plan), with the file's addresses (a PIE is
 * loaded at an address aligned to its largest p_align, so its offsets
 * within a page are the file's).
 *
 * Also the ELF reading `run` uses to say that a statically linked program
 * cannot be reached by LD_PRELOAD at all.
 */
#include "ctl.h"
#include "segments.h"

#include <elf.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEG_MAX_PHDRS	64

struct elf_image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[SEG_MAX_PHDRS];
	int nph;
	bool interp;		/* PT_INTERP: dynamically linked */
	bool dynamic;		/* PT_DYNAMIC (a static PIE has it too) */
	const Elf64_Phdr *relro;
};

/* The ELF header and program headers of path: 0 or -errno (-ENOEXEC: not
 * a 64-bit ELF file of this machine's byte order). */
static int elf_read(const char *path, struct elf_image *im)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -ENOEXEC;
	size_t len;

	memset(im, 0, sizeof(*im));
	if (fd < 0)
		return -errno;
	if (pread(fd, &im->eh, sizeof(im->eh), 0) != (ssize_t)sizeof(im->eh) ||
	    memcmp(im->eh.e_ident, ELFMAG, SELFMAG) || im->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    im->eh.e_phentsize != sizeof(Elf64_Phdr) || im->eh.e_phnum > SEG_MAX_PHDRS)
		goto out;
	im->nph = im->eh.e_phnum;
	len = (size_t)im->nph * sizeof(Elf64_Phdr);
	if (pread(fd, im->ph, len, (off_t)im->eh.e_phoff) != (ssize_t)len)
		goto out;
	for (int i = 0; i < im->nph; i++) {
		im->interp |= im->ph[i].p_type == PT_INTERP;
		im->dynamic |= im->ph[i].p_type == PT_DYNAMIC;
		if (im->ph[i].p_type == PT_GNU_RELRO)
			im->relro = &im->ph[i];
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int ctl_elf_static(const char *path)
{
	struct elf_image im;
	int ret = elf_read(path, &im);

	if (ret)
		return ret;
	/* a shared library has no PT_INTERP either, but is ET_DYN with
	 * PT_DYNAMIC and never run by itself: only executables matter here */
	return !im.interp;
}

static const char *elf_kind(const struct elf_image *im)
{
	if (im->eh.e_type == ET_EXEC)
		return im->interp ? "non-PIE executable" : "static executable";
	if (!im->interp)
		return im->dynamic ? "static PIE or shared library" : "static executable";
	return "PIE executable";
}

/* Why size - covered bytes of a segment stay on base pages */
static const char *rest_why(size_t size, size_t covered, size_t ps, bool relro)
{
	if (covered == size)
		return "-";
	if (size < ps)
		return "smaller than one page";
	if (!covered)
		return "no whole page inside (not aligned)";
	return relro ? "head, tail or RELRO edge not whole pages" : "head and tail not whole pages";
}

static void print_row(const struct elf_image *im, const Elf64_Phdr *ph, unsigned int kind,
		      bool *partial)
{
	static const size_t sizes[2] = { 2UL << 20, 1UL << 30 };
	struct hp_seg_plan plan[2];
	size_t size = 0, cov[2];
	const char *name;

	for (int i = 0; i < 2; i++) {
		/* planned as the preload does with all of them (data and bss
		 * move as one range), then counted for this kind */
		if (!hp_seg_plan((const ElfW(Phdr) *)ph, (const ElfW(Phdr) *)im->relro, 0, sizes[i],
				 HP_SEG_TEXT | HP_SEG_DATA | HP_SEG_BSS, &plan[i]))
			return;
		size = hp_seg_size(&plan[i], kind);
		cov[i] = hp_seg_covered(&plan[i], kind);
	}
	if (!size)
		return;
	name = kind != HP_SEG_TEXT ? hp_seg_kind_name(kind) : (ph->p_flags & PF_X) ? "text" : "rodata";
	printf("%-7s %#12lx %12zu %12zu %12zu  %s\n", name, (unsigned long)ph->p_vaddr, size,
	       cov[0], cov[1], rest_why(size, cov[0], sizes[0], kind != HP_SEG_TEXT && im->relro));
	*partial |= cov[0] != size;
}

static void help(void)
{
	printf("Usage: hugepool-ctl segments BINARY\n\n"
	       "For each loadable segment of BINARY (text, rodata, data, bss), the bytes that\n"
	       "HUGEPOOL_SEGMENTS (hugepool-ctl run --text --data --bss) would put on 2 MiB and\n"
	       "on 1 GiB pages, and why the rest would stay on base pages.\n\n"
	       "  -h, --help             this help\n");
}

int cmd_segments(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct elf_image im;
	bool partial = false;
	int ch, ret;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (ch == 'h') {
			help();
			return CTL_OK;
		}
		return ctl_getopt_error(ch, argv);
	}
	if (optind != argc - 1)
		return ctl_usage_error(optind >= argc ? "missing BINARY" : "one BINARY only");
	ret = elf_read(argv[optind], &im);
	if (ret == -ENOEXEC)
		return ctl_error(CTL_FAIL, "%s: not a 64-bit ELF file", argv[optind]);
	if (ret)
		return ctl_error_errno(-ret, "cannot read", argv[optind]);
	printf("%s: %s\n", argv[optind], elf_kind(&im));
	printf("%-7s %12s %12s %12s %12s  %s\n", "segment", "address", "bytes", "on 2M pages",
	       "on 1G pages", "why the rest stays on base pages");
	for (int i = 0; i < im.nph; i++) {
		print_row(&im, &im.ph[i], HP_SEG_TEXT, &partial);
		print_row(&im, &im.ph[i], HP_SEG_DATA, &partial);
		print_row(&im, &im.ph[i], HP_SEG_BSS, &partial);
	}
	if (!im.interp)
		printf("not dynamically linked: LD_PRELOAD cannot reach it; nothing would move\n");
	else if (partial)
		printf("to cover whole segments, link with -Wl,-zcommon-page-size=2097152 "
		       "-Wl,-zmax-page-size=2097152 (1073741824 for 1 GiB pages)\n");
	return CTL_OK;
}
