package pki

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// fileWrite is one file of a writeFiles transaction.
type fileWrite struct {
	path    string      // where to write
	display string      // the name used in errors
	data    []byte      // the content
	perm    fs.FileMode // 0600 for keys and PKCS#12, 0644 otherwise
	dirPerm fs.FileMode // mode of missing parent directories
	replace bool        // may replace an existing file even without overwrite
}

// outFile describes a file named on the command line.
func outFile(path string, data []byte, perm fs.FileMode) fileWrite {
	dirPerm := fs.FileMode(0o755)
	if perm&0o077 == 0 {
		dirPerm = 0o700
	}
	return fileWrite{path: path, display: path, data: data, perm: perm, dirPerm: dirPerm}
}

// writeFiles writes all files or none. Each file is written to a temporary
// file in its directory with its final mode, synced, then moved into place:
// with a hard link that fails if the target exists unless overwrite is set,
// with a rename otherwise or if the file has replace set (atomic
// replacement). The directories are synced
// afterwards. On any error the temporary files, the files written so far,
// and the directories created are removed, and replaced files are restored.
func writeFiles(files []fileWrite, overwrite bool) (err error) {
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			if !overwrite && !f.replace {
				return &FileError{Path: f.display, Err: ErrExists}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fileErr(f.display, err)
		}
	}

	var (
		createdDirs []string
		temps       []string
		placed      []string              // new files moved into place
		backups     = map[string]string{} // replaced file -> its backup link
	)
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
		if err == nil {
			for _, b := range backups {
				os.Remove(b)
			}
			return
		}
		for i := len(placed) - 1; i >= 0; i-- {
			os.Remove(placed[i])
		}
		for p, b := range backups {
			os.Rename(b, p)
		}
		for i := len(createdDirs) - 1; i >= 0; i-- {
			os.Remove(createdDirs[i])
		}
	}()

	dirs := map[string]bool{}
	for _, f := range files {
		dir := filepath.Dir(f.path)
		made, err := mkdirAll(dir, f.dirPerm)
		createdDirs = append(createdDirs, made...)
		if err != nil {
			return fileErr(f.display, err)
		}
		dirs[dir] = true
	}

	tmpOf := make([]string, len(files))
	for i, f := range files {
		t, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".tmp-*")
		if err != nil {
			return fileErr(f.display, err)
		}
		temps = append(temps, t.Name())
		tmpOf[i] = t.Name()
		err = t.Chmod(f.perm)
		if err == nil {
			_, err = t.Write(f.data)
		}
		if err == nil {
			err = t.Sync()
		}
		if cerr := t.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fileErr(f.display, err)
		}
	}

	for i, f := range files {
		if overwrite || f.replace {
			if _, err := os.Lstat(f.path); err == nil {
				b := tmpOf[i] + ".old"
				if err := os.Link(f.path, b); err != nil {
					return fileErr(f.display, err)
				}
				backups[f.path] = b
			}
			if err := os.Rename(tmpOf[i], f.path); err != nil {
				return fileErr(f.display, err)
			}
			if _, replaced := backups[f.path]; !replaced {
				placed = append(placed, f.path)
			}
			continue
		}
		if err := os.Link(tmpOf[i], f.path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return &FileError{Path: f.display, Err: ErrExists}
			}
			return fileErr(f.display, err)
		}
		placed = append(placed, f.path)
	}

	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return fileErr(dir, err)
		}
	}
	return nil
}

// mkdirAll creates dir and its missing parents with mode perm and returns
// the directories it created, outermost first.
func mkdirAll(dir string, perm fs.FileMode) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], perm); err != nil {
			return made, err
		}
		made = append(made, missing[i])
	}
	return made, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
